/**
 * Appends one request's validated samples: routes them to their partitions, applies
 * backpressure, and hands them to the group commit, which appends them with the other
 * requests of its group (and the request's idempotency records) in one atomic step.
 */
import { AppError } from '../shared/errors';
import { partitionOf } from '../shared/partition';
import type { Sample } from '../shared/samples';
import { encodeSamples } from '../shared/store/entry-codec';
import type { SampleAppender } from '../shared/store/sample-append';
import { encodeToken } from './consistency-token';
import { GroupCommit, type GroupCommitOptions } from './group-commit';
import type { IdempotencyClaim } from './idempotency';

export interface WriteResult {
  /** One stream entry id per partition written, in partition order (shared with the other requests of its group). */
  ids: string[];
  token: string;
  accepted: number;
  /** True when an Idempotency-Key retry was answered from the first request's records. */
  replayed: boolean;
}

export interface SampleWriterOptions extends GroupCommitOptions {
  idempotencyTtlSeconds: number;
  /** Called with the partitions a request writes to; throws to refuse it (backpressure). */
  admit?: (partitions: readonly number[]) => void;
}

export class SampleWriter {
  private readonly commits: GroupCommit;

  constructor(
    appender: SampleAppender,
    private readonly options: SampleWriterOptions,
  ) {
    this.commits = new GroupCommit(appender, options);
  }

  async write(samples: readonly Sample[], idempotency?: IdempotencyClaim): Promise<WriteResult> {
    const byPartition = new Map<number, Sample[]>();
    for (const sample of samples) {
      const p = partitionOf(sample.node, this.options.partitions);
      const group = byPartition.get(p);
      if (group) group.push(sample);
      else byPartition.set(p, [sample]);
    }
    const order = [...byPartition.keys()].sort((a, b) => a - b);
    this.options.admit?.(order);
    const outcome = await this.commits.submit({
      parts: order.map((partition) => ({ partition, lines: encodeSamples(byPartition.get(partition)!) })),
      samples: samples.length,
      idempotency: idempotency && {
        keyHash: idempotency.keyHash,
        fingerprint: idempotency.fingerprint,
        ttlSeconds: idempotency.ttlSeconds ?? this.options.idempotencyTtlSeconds,
      },
    });
    if (outcome.kind === 'conflict') {
      throw new AppError(
        422,
        'IDEMPOTENCY_KEY_REUSED',
        'This Idempotency-Key was used for a different request; use a new key for new samples.',
      );
    }
    const token = encodeToken(outcome.ids.map((id, i) => ({ partition: order[i]!, id })));
    return { ids: outcome.ids, token, accepted: outcome.accepted, replayed: outcome.replayed };
  }
}

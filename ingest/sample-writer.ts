/**
 * Appends validated samples: one entry per partition per request, and the request's
 * idempotency record, in one atomic script call (append-samples.lua).
 */
import { ENTRY_FIELD, encodeSamples } from '../shared/entry-codec';
import { randomBytes } from 'node:crypto';
import {
  AppError,
  DependencyUnavailableError,
  OutcomeUnknownError,
  PartitionChangeInProgressError,
  PartitionCountChangedError,
  RedisOutOfMemoryError,
} from '../shared/errors';
import { isOutOfMemory } from '../shared/redis-memory';
import type { PartitionKeys } from '../shared/store/keys';
import { registerScripts } from '../shared/store/scripts';
import { partitionOf } from '../shared/partition';
import type { RedisClient } from '../shared/redis';
import type { Sample } from '../shared/samples';
import { encodeToken, type PartitionPosition } from './consistency-token';
import type { IdempotencyClaim } from './idempotency';
import { settleLostWrite } from './lost-write-settler';

export interface WriteResult {
  /** One stream entry id per partition written, in partition order. */
  ids: string[];
  token: string;
  accepted: number;
  /** True when an Idempotency-Key retry was answered from the first request's record. */
  replayed: boolean;
}

interface StoredRecord {
  ids: string[];
  accepted: number;
}

/** The client refused to send (disconnected, no offline queue): the script surely did not run. */
function neverSent(error: unknown): boolean {
  return /enableOfflineQueue/.test((error as Error)?.message ?? '');
}

export class SampleWriter {
  constructor(
    private readonly redis: RedisClient,
    private readonly partitions: readonly PartitionKeys[],
    private readonly idempotencyTtlSeconds: number,
    /** How long a write with a lost reply may wait for Redis to settle its outcome. */
    private readonly settleWithinMs: number,
    /** Called with the partitions a request writes to; throws to refuse it (backpressure). */
    private readonly admit: (partitions: readonly number[]) => void = () => undefined,
  ) {
    registerScripts(redis);
  }

  async write(samples: readonly Sample[], idempotency?: IdempotencyClaim): Promise<WriteResult> {
    const byPartition = new Map<number, Sample[]>();
    for (const sample of samples) {
      const p = partitionOf(sample.node, this.partitions.length);
      const group = byPartition.get(p);
      if (group) group.push(sample);
      else byPartition.set(p, [sample]);
    }
    const order = [...byPartition.keys()].sort((a, b) => a - b);
    this.admit(order);
    const keys = order.map((p) => this.partitions[p]!.stream);
    keys.push(...order.map((p) => this.partitions[p]!.meta));
    if (idempotency) keys.push(idempotency.recordKey);
    const requestId = randomBytes(12).toString('base64url');
    const startedAt = Date.now();
    let reply: string[];
    try {
      reply = await this.redis.appendSamples([
        keys.length,
        ...keys,
        order.length,
        idempotency?.fingerprint ?? '',
        idempotency?.ttlSeconds ?? this.idempotencyTtlSeconds,
        samples.length,
        requestId,
        ENTRY_FIELD,
        ...order.map((p) => encodeSamples(byPartition.get(p)!)),
        this.partitions.length,
      ]);
    } catch (error) {
      if (neverSent(error)) throw new DependencyUnavailableError('Redis is unavailable; the samples were not stored. Retry later.', error);
      // The script is refused whole before it runs (its "#!lua" line): nothing was stored.
      if (isOutOfMemory(error)) throw new RedisOutOfMemoryError(error);
      // The script may have run: find out before answering, within a bound.
      const streams = order.map((p) => this.partitions[p]!.stream);
      const outcome = await settleLostWrite(this.redis, streams, requestId, startedAt, Date.now() + this.settleWithinMs);
      if (outcome.kind === 'stored') return this.result(order, outcome.ids, samples.length, false);
      if (outcome.kind === 'absent')
        throw new DependencyUnavailableError('Redis lost the connection; the samples were not stored. Retry later.', error);
      throw new OutcomeUnknownError(error);
    }
    if (reply[0] === 'paused') throw new PartitionChangeInProgressError();
    if (reply[0] === 'recount') throw new PartitionCountChangedError(this.partitions.length, Number(reply[1]));
    if (reply[0] === 'conflict') {
      throw new AppError(
        422,
        'IDEMPOTENCY_KEY_REUSED',
        'This Idempotency-Key was used for a different request; use a new key for new samples.',
      );
    }
    if (reply[0] === 'replay') {
      const stored = JSON.parse(reply[1]!) as StoredRecord;
      return this.result(order, stored.ids, stored.accepted, true);
    }
    return this.result(order, reply.slice(1), samples.length, false);
  }

  private result(order: number[], ids: string[], accepted: number, replayed: boolean): WriteResult {
    const positions: PartitionPosition[] = ids.map((id, i) => ({ partition: order[i]!, id }));
    return { ids, token: encodeToken(positions), accepted, replayed };
  }
}

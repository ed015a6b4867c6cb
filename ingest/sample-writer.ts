/** Appends validated samples: one entry per partition per request, one pipeline per request. */
import { ENTRY_FIELD, encodeSamples } from '../shared/entry-codec';
import { DependencyUnavailableError } from '../shared/errors';
import type { PartitionKeys } from '../shared/keys';
import { partitionOf } from '../shared/partition';
import type { RedisClient } from '../shared/redis';
import type { Sample } from '../shared/samples';
import { encodeToken, type PartitionPosition } from './consistency-token';

export interface WriteResult {
  /** One stream entry id per partition written, in partition order. */
  ids: string[];
  token: string;
  accepted: number;
}

export class SampleWriter {
  constructor(
    private readonly redis: RedisClient,
    private readonly partitions: readonly PartitionKeys[],
    /** Called with the partitions a request writes to; throws to refuse it (backpressure). */
    private readonly admit: (partitions: readonly number[]) => void = () => undefined,
  ) {}

  async write(samples: readonly Sample[]): Promise<WriteResult> {
    const byPartition = new Map<number, Sample[]>();
    for (const sample of samples) {
      const p = partitionOf(sample.node, this.partitions.length);
      const group = byPartition.get(p);
      if (group) group.push(sample);
      else byPartition.set(p, [sample]);
    }
    const order = [...byPartition.keys()].sort((a, b) => a - b);
    this.admit(order);
    const pipeline = this.redis.multi();
    for (const p of order) pipeline.xadd(this.partitions[p]!.stream, '*', ENTRY_FIELD, encodeSamples(byPartition.get(p)!));
    let replies: [Error | null, unknown][] | null;
    try {
      // MULTI keeps a request all or nothing on one Redis (per slot on a cluster).
      replies = await pipeline.exec();
    } catch (error) {
      throw new DependencyUnavailableError('Redis is unavailable; the samples were not stored. Retry later.', error);
    }
    const positions: PartitionPosition[] = [];
    for (let i = 0; i < order.length; i++) {
      const [error, id] = replies?.[i] ?? [new Error('no reply'), null];
      if (error || typeof id !== 'string') {
        throw new DependencyUnavailableError('Redis did not store the samples; retry later.', error);
      }
      positions.push({ partition: order[i]!, id });
    }
    return { ids: positions.map((p) => p.id), token: encodeToken(positions), accepted: samples.length };
  }
}

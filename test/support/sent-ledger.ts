/**
 * Records every sample a test sends and checks each one against the aggregates: per node
 * and 1-second bucket, and per process and 1-second bucket, count and time-weighted sums.
 */
import { fineBucketOf, fineChunkOf, partitionKeys } from '../../shared/store/keys';
import { partitionOf } from '../../shared/partition';
import type { RedisClient } from '../../shared/redis';
import { parseBucket } from '../../shared/window';
import type { RawNodeSample, RawProcessSample } from './reference-model';

interface Expected {
  key: string;
  field: string;
  n: number;
  v1s: number;
  v2s: number;
}

export interface LedgerMismatch {
  key: string;
  field: string;
  expected: { n: number; v1s: number; v2s: number };
  actual: { n: number; v1s: number; v2s: number } | null;
}

export class SentLedger {
  private readonly expected = new Map<string, Expected>();
  samples = 0;

  constructor(
    private readonly prefix: string,
    private readonly partitions: number,
  ) {}

  private add(key: string, at: number, v1: number, v2: number, timeslice: number): void {
    const field = String(fineBucketOf(at));
    const id = `${key}\n${field}`;
    const e = this.expected.get(id) ?? { key, field, n: 0, v1s: 0, v2s: 0 };
    e.n += 1;
    e.v1s += v1 * timeslice;
    e.v2s += v2 * timeslice;
    this.expected.set(id, e);
  }

  node(s: RawNodeSample): void {
    const keys = partitionKeys(this.prefix, partitionOf(s.node, this.partitions));
    this.add(keys.nodeFine(fineChunkOf(fineBucketOf(s.at)), s.node), s.at, s.cpu, s.mem, s.timeslice);
    this.samples += 1;
  }

  process(s: RawProcessSample): void {
    const keys = partitionKeys(this.prefix, partitionOf(s.node, this.partitions));
    this.add(keys.processFine(fineChunkOf(fineBucketOf(s.at)), s.process), s.at, s.cpu_used, s.mem_used, s.timeslice);
    this.samples += 1;
  }

  /** Every bucket the sent samples fall in, compared with what Redis holds; [] when exact. */
  async mismatches(redis: RedisClient): Promise<LedgerMismatch[]> {
    const wrong: LedgerMismatch[] = [];
    const all = [...this.expected.values()];
    for (let first = 0; first < all.length; first += 1000) {
      const slice = all.slice(first, first + 1000);
      const pipeline = redis.pipeline();
      for (const e of slice) pipeline.hget(e.key, e.field);
      const replies = (await pipeline.exec()) ?? [];
      slice.forEach((e, i) => {
        const [error, packed] = replies[i] ?? [new Error('no reply'), null];
        if (error) throw error;
        const actual = packed === null ? null : parseBucket(packed as string);
        const close = (a: number, b: number) => Math.abs(a - b) <= 1e-6 * Math.max(1, Math.abs(b));
        if (actual === null || actual.n !== e.n || !close(actual.v1s, e.v1s) || !close(actual.v2s, e.v2s)) {
          wrong.push({
            key: e.key,
            field: e.field,
            expected: { n: e.n, v1s: e.v1s, v2s: e.v2s },
            actual: actual && { n: actual.n, v1s: actual.v1s, v2s: actual.v2s },
          });
        }
      });
    }
    return wrong;
  }
}

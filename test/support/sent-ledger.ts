/**
 * Records every sample a test sends and checks each one against the aggregates: per node
 * and 1-second bucket, and per process and 1-second bucket, count and time-weighted sums.
 */
import { fineBucketOf, fineChunkOf, nodeSecondField, nodeSecondsChunkOf, partitionKeys } from '../../shared/store/keys';
import { partitionOf } from '../../shared/partition';
import type { RedisClient } from '../../shared/redis';
import { decodeBucket } from '../../shared/store/bucket-codec';
import type { RawNodeSample, RawProcessSample } from './reference-model';

/** The bucket fields the ledger checks (bucket codec names). */
interface Sums {
  samples: number;
  cpu_seconds: number;
  mem_seconds: number;
}

interface Expected extends Sums {
  key: string;
  field: string;
}

export interface LedgerMismatch {
  key: string;
  field: string;
  expected: Sums;
  actual: Sums | null;
}

export class SentLedger {
  private readonly expected = new Map<string, Expected>();
  samples = 0;

  constructor(
    private readonly prefix: string,
    private readonly partitions: number,
  ) {}

  private add(key: string, field: string, cpu: number, mem: number, timeslice: number): void {
    const id = `${key}\n${field}`;
    const e = this.expected.get(id) ?? { key, field, samples: 0, cpu_seconds: 0, mem_seconds: 0 };
    e.samples += 1;
    e.cpu_seconds += cpu * timeslice;
    e.mem_seconds += mem * timeslice;
    this.expected.set(id, e);
  }

  node(s: RawNodeSample): void {
    const keys = partitionKeys(this.prefix, partitionOf(s.node, this.partitions), this.partitions);
    const second = fineBucketOf(s.at);
    this.add(keys.nodeSeconds(nodeSecondsChunkOf(second)), nodeSecondField(second, s.node), s.cpu, s.mem, s.timeslice);
    this.samples += 1;
  }

  process(s: RawProcessSample): void {
    const keys = partitionKeys(this.prefix, partitionOf(s.node, this.partitions), this.partitions);
    const second = fineBucketOf(s.at);
    this.add(keys.processFine(fineChunkOf(second), s.process), String(second), s.cpu_used, s.mem_used, s.timeslice);
    this.samples += 1;
  }

  /** Every bucket the sent samples fall in, compared with what Redis holds; [] when exact. */
  async mismatches(redis: RedisClient): Promise<LedgerMismatch[]> {
    const wrong: LedgerMismatch[] = [];
    const all = [...this.expected.values()];
    for (let first = 0; first < all.length; first += 1000) {
      const slice = all.slice(first, first + 1000);
      const pipeline = redis.pipeline();
      for (const e of slice) pipeline.hgetBuffer(e.key, e.field);
      const replies = (await pipeline.exec()) ?? [];
      slice.forEach((e, i) => {
        const [error, packed] = replies[i] ?? [new Error('no reply'), null];
        if (error) throw error;
        const stored = packed === null ? null : decodeBucket(packed as Buffer);
        const actual = stored && { samples: stored.samples, cpu_seconds: stored.cpu_seconds, mem_seconds: stored.mem_seconds };
        const close = (a: number, b: number) => Math.abs(a - b) <= 1e-6 * Math.max(1, Math.abs(b));
        if (
          actual === null ||
          actual.samples !== e.samples ||
          !close(actual.cpu_seconds, e.cpu_seconds) ||
          !close(actual.mem_seconds, e.mem_seconds)
        ) {
          wrong.push({
            key: e.key,
            field: e.field,
            expected: { samples: e.samples, cpu_seconds: e.cpu_seconds, mem_seconds: e.mem_seconds },
            actual,
          });
        }
      });
    }
    return wrong;
  }
}

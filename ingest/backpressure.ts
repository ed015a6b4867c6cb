/**
 * Backpressure (SPEC §4): refuses new samples with 503 + Retry-After while a partition
 * holds more unacknowledged entries than MAX_PARTITION_LAG. Lag is read in the background
 * every BACKPRESSURE_REFRESH_MS, so a request costs no extra Redis round trip.
 */
import { Gauge, type Registry } from 'prom-client';
import { DependencyUnavailableError } from '../shared/errors';
import type { PartitionKeys } from '../shared/keys';
import type { RedisClient } from '../shared/redis';
import { replyToRecord } from '../shared/redis-replies';

export class BackpressureMonitor {
  /** Unacknowledged entries per partition: not yet delivered (lag) plus pending. */
  private readonly unacked: number[];
  private timer: NodeJS.Timeout | undefined;
  private readonly gauge: Gauge;

  constructor(
    private readonly redis: RedisClient,
    private readonly partitions: readonly PartitionKeys[],
    private readonly group: string,
    private readonly maxLag: number,
    private readonly refreshMs: number,
    registry: Registry,
  ) {
    this.unacked = partitions.map(() => 0);
    this.gauge = new Gauge({
      name: 'nodeagg_partition_unacknowledged_entries',
      help: 'Entries of a partition stream not yet acknowledged by the workers (lag + pending).',
      labelNames: ['partition'],
      registers: [registry],
    });
  }

  start(): void {
    const tick = async () => {
      await this.refresh().catch(() => undefined); // Redis down: writes fail on their own
      this.timer = setTimeout(tick, this.refreshMs);
      this.timer.unref();
    };
    void tick();
  }

  stop(): void {
    clearTimeout(this.timer);
  }

  async refresh(): Promise<void> {
    const pipeline = this.redis.pipeline();
    for (const p of this.partitions) pipeline.xinfo('GROUPS', p.stream).xlen(p.stream);
    const replies = (await pipeline.exec()) ?? [];
    this.partitions.forEach((p, i) => {
      const [groupsError, groups] = replies[2 * i] ?? [null, []];
      const [, length] = replies[2 * i + 1] ?? [null, 0];
      if (groupsError) return;
      const info = (groups as unknown[][]).map(replyToRecord).find((g) => g.name === this.group);
      // Without the group (or lag unknown), every entry of the stream counts.
      const lag = info && info.lag !== null && info.lag !== undefined ? Number(info.lag) : Number(length);
      this.unacked[p.partition] = lag + (info ? Number(info.pending) : 0);
      this.gauge.set({ partition: String(p.partition) }, this.unacked[p.partition]!);
    });
  }

  /** Throws 503 when any of these partitions is over the limit. */
  check(partitions: readonly number[]): void {
    const over = partitions.filter((p) => this.unacked[p]! > this.maxLag);
    if (over.length > 0) {
      throw new DependencyUnavailableError(
        `The workers are behind (partition ${over.join(', ')} holds more than ${this.maxLag} unacknowledged entries); nothing was stored. Retry later.`,
        undefined,
        Math.max(1, Math.ceil((this.refreshMs * 2) / 1000)),
      );
    }
  }
}

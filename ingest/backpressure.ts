/**
 * Backpressure (docs/ARCHITECTURE.md, failure handling): refuses new samples with 503 + Retry-After while a partition
 * holds more unacknowledged entries than MAX_PARTITION_LAG, while a partition count change
 * runs, and once the data has another partition count than this instance routes with.
 * All of it is read in the background every BACKPRESSURE_REFRESH_MS, so a request costs no
 * extra Redis round trip (the append script re-checks the count and the pause atomically).
 */
import { Gauge, type Registry } from 'prom-client';
import { DependencyUnavailableError, PartitionChangeInProgressError, PartitionCountChangedError } from '../shared/errors';
import type { PartitionKeys } from '../shared/store/keys';
import type { RedisClient } from '../shared/redis';
import { unacknowledgedEntries } from '../shared/store/backlog';
import { readPartitionState } from '../shared/store/partition-count';

export class BackpressureMonitor {
  /** Unacknowledged entries per partition: not yet delivered (lag) plus pending. */
  private readonly unacked: number[];
  private timer: NodeJS.Timeout | undefined;
  private readonly gauge: Gauge;
  /** The partition count the data has (null: not recorded yet). */
  private recordedPartitions: number | null = null;
  private changeRunning = false;
  private stopped = false;

  constructor(
    private readonly redis: RedisClient,
    private readonly partitions: readonly PartitionKeys[],
    private readonly group: string,
    private readonly maxLag: number,
    private readonly refreshMs: number,
    registry: Registry,
    private readonly keyPrefix: string,
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
    this.stopped = false;
    const tick = async () => {
      await this.refresh().catch(() => undefined); // Redis down: writes fail on their own
      // stop() may have come while that read was in flight.
      if (this.stopped) return;
      this.timer = setTimeout(tick, this.refreshMs);
      this.timer.unref();
    };
    void tick();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  /** One read per partition and one of the partition state, in parallel; a failed read keeps its last value. */
  async refresh(): Promise<void> {
    const [state, ...backlogs] = await Promise.allSettled([
      readPartitionState(this.redis, this.keyPrefix),
      ...this.partitions.map((p) => unacknowledgedEntries(this.redis, p, this.group)),
    ]);
    if (state.status === 'fulfilled') {
      this.recordedPartitions = state.value.recorded;
      this.changeRunning = state.value.change !== null;
    }
    this.partitions.forEach((p, i) => {
      const backlog = backlogs[i];
      if (backlog?.status !== 'fulfilled') return;
      this.unacked[p.partition] = backlog.value;
      this.gauge.set({ partition: String(p.partition) }, backlog.value);
    });
  }

  /** Throws 503 when any of these partitions is over the limit. */
  check(partitions: readonly number[]): void {
    if (this.changeRunning) throw new PartitionChangeInProgressError(Math.max(1, Math.ceil((this.refreshMs * 4) / 1000)));
    if (this.recordedPartitions !== null && this.recordedPartitions !== this.partitions.length) {
      throw new PartitionCountChangedError(this.partitions.length, this.recordedPartitions);
    }
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

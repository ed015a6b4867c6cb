/**
 * Keeps this consumer alive in Redis: its heartbeat on every partition, refreshed from a
 * timer with a TTL of CONSUMER_EXPIRY_MS (so also while the consumer is blocked in
 * XREADGROUP, whose idle time Redis 7.0 does not refresh and 7.2 reports differently).
 * The janitor removes a consumer only once its heartbeat expired (shared/store/consumer-liveness.ts).
 */
import type { PartitionKeys } from '../shared/store/keys';
import { refreshHeartbeat } from '../shared/store/consumer-liveness';
import type { RedisClient } from '../shared/redis';

/** Refreshes one consumer's heartbeat keys on every partition from a timer. */
export class ConsumerHeartbeat {
  private timer: NodeJS.Timeout | undefined;
  readonly intervalMs: number;

  constructor(
    private readonly redis: RedisClient,
    private readonly partitions: readonly PartitionKeys[],
    private readonly consumer: string,
    private readonly ttlMs: number,
    private readonly onError: (error: Error) => void,
  ) {
    // Several refreshes per TTL, so one slow or failed refresh does not let it expire.
    this.intervalMs = Math.max(100, Math.min(Math.floor(ttlMs / 4), 10_000));
  }

  /**
   * Beats now and then every interval. A failed beat (Redis out of memory, say) is only
   * reported: without a heartbeat the janitor may remove the consumer only while it holds
   * nothing pending, which loses nothing, and its next read recreates it.
   */
  start(): void {
    const tick = () => {
      this.beat().catch(this.onError);
      this.timer = setTimeout(tick, this.intervalMs);
      this.timer.unref();
    };
    tick();
  }

  stop(): void {
    clearTimeout(this.timer);
  }

  /** One refresh per partition, in parallel; every partition is tried before a failure is reported. */
  async beat(): Promise<void> {
    const results = await Promise.allSettled(this.partitions.map((keys) => refreshHeartbeat(this.redis, keys, this.consumer, this.ttlMs)));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  }
}

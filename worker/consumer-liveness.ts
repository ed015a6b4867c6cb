/**
 * A consumer's liveness in Redis: one heartbeat key per consumer and partition, with a TTL
 * of CONSUMER_EXPIRY_MS, refreshed from a timer (so also while the consumer is blocked in
 * XREADGROUP, whose idle time Redis 7.0 does not refresh and 7.2 reports differently).
 * Removing a consumer happens only in remove-consumer.lua, which re-checks the heartbeat
 * and the consumer's pending entries in the same atomic step as the delete.
 */
import type { PartitionKeys } from '../shared/store/keys';
import { registerScripts } from '../shared/store/scripts';
import type { RedisClient } from '../shared/redis';

export type RemovalOutcome = 'removed' | 'has-pending' | 'alive';

/**
 * Removes `consumer` from the group if it holds nothing pending and, for 'expired', its
 * heartbeat has expired; 'leaving' is the consumer itself on shutdown.
 */
export async function removeConsumer(
  redis: RedisClient,
  keys: PartitionKeys,
  group: string,
  consumer: string,
  mode: 'expired' | 'leaving',
): Promise<RemovalOutcome> {
  registerScripts(redis);
  const result = Number(await redis.removeConsumer(keys.stream, keys.consumerHeartbeat(consumer), group, consumer, mode));
  return result === 1 ? 'removed' : result === 0 ? 'has-pending' : 'alive';
}

/** Refreshes one consumer's heartbeat keys on every partition from a timer. */
export class ConsumerHeartbeat {
  private timer: NodeJS.Timeout | undefined;
  private readonly keys: string[];
  readonly intervalMs: number;

  constructor(
    private readonly redis: RedisClient,
    partitions: readonly PartitionKeys[],
    consumer: string,
    private readonly ttlMs: number,
    private readonly onError: (error: Error) => void,
  ) {
    this.keys = partitions.map((p) => p.consumerHeartbeat(consumer));
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

  /**
   * PEXPIRE first: it is allowed when Redis is out of memory (SET is not), so a running
   * consumer stays alive under memory pressure; SET only when the key is missing.
   */
  async beat(): Promise<void> {
    const pipeline = this.redis.pipeline();
    for (const key of this.keys) pipeline.pexpire(key, this.ttlMs);
    const replies = (await pipeline.exec()) ?? [];
    const missing = this.keys.filter((_, i) => replies[i]?.[0] === null && Number(replies[i]?.[1]) === 0);
    const failed = replies.find(([error]) => error !== null)?.[0];
    if (missing.length > 0) {
      const create = this.redis.pipeline();
      for (const key of missing) create.set(key, '1', 'PX', this.ttlMs);
      const created = (await create.exec()) ?? [];
      const error = created.find(([e]) => e !== null)?.[0];
      if (error) throw error;
    }
    if (failed) throw failed;
  }
}

/**
 * A hint that a partition's entries were just applied. The worker's apply publishes one with
 * the acknowledgement (in its transaction, or in apply-batch.lua on a cluster, so it costs no
 * round trip of its own and arrives only after the apply); ingest's read-after-write waiter
 * then looks at that partition at once instead of at its next poll. Sharded pub/sub
 * (SPUBLISH / SSUBSCRIBE) on a channel in the partition's slot, so on a Redis Cluster only
 * the partition's master carries it. The hint is never needed for correctness: one lost (a
 * reconnect, a slot move) costs the wait until the next poll.
 */
import type { PartitionKeys } from './keys';
import { isCluster, type RedisClient } from '../redis';

/** Subscribes a connection of its own to every partition's hint. */
export class AppliedSignals {
  private readonly partitionOf: Map<string, number>;
  private readonly onMessage = (channel: string) => {
    const partition = this.partitionOf.get(channel);
    if (partition !== undefined) this.onApplied(partition);
  };
  /** After a reconnect (one Redis): subscribe again, here, where a refusal is caught. */
  private readonly onReady = () => {
    for (const channel of this.partitionOf.keys()) {
      this.subscriber.ssubscribe(channel).catch((error: Error) => {
        // Closed by stop() before Redis answered: nothing to report.
        if (!this.stopped) this.onRefused(error);
      });
    }
  };
  private stopped = false;

  /**
   * `subscriber`: a connection used for nothing else (a subscribed connection runs no other
   * command); on one Redis, made with `subscriber: true` (createRedisClient), so ioredis does
   * not subscribe again by itself: nobody awaits its commands, and a refusal (NOPERM, a user
   * that lost its channels) or a close before the reply was an unhandled rejection, which
   * ends a Node process. `onRefused`: such a later subscription failed (the hints stop; the
   * waiter polls).
   */
  constructor(
    private readonly subscriber: RedisClient,
    partitions: readonly PartitionKeys[],
    private readonly onApplied: (partition: number) => void,
    private readonly onRefused: (error: Error) => void = () => undefined,
  ) {
    this.partitionOf = new Map(partitions.map((p) => [p.appliedChannel, p.partition]));
  }

  /** Subscribes, and again after every reconnect (a cluster client does so itself, also after a slot move). */
  async start(): Promise<void> {
    this.subscriber.on('smessage', this.onMessage);
    if (!isCluster(this.subscriber)) this.subscriber.on('ready', this.onReady);
    // One channel per command: a cluster client takes only channels of one slot per SSUBSCRIBE.
    await Promise.all([...this.partitionOf.keys()].map((channel) => this.subscriber.ssubscribe(channel)));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.subscriber.off('smessage', this.onMessage);
    this.subscriber.off('ready', this.onReady);
    await this.subscriber.quit().catch(() => this.subscriber.disconnect());
  }
}

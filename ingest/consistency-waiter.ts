/** Waits until every entry up to a token's positions is applied (SPEC §3 read-after-write). */
import { ConsistencyTimeoutError } from '../shared/errors';
import type { PartitionKeys } from '../shared/keys';
import type { RedisClient } from '../shared/redis';
import { replyToRecord } from '../shared/redis-replies';
import { compareIds } from '../shared/stream-ids';
import type { PartitionPosition } from './consistency-token';

export class ConsistencyWaiter {
  constructor(
    private readonly redis: RedisClient,
    private readonly partitions: readonly PartitionKeys[],
    private readonly group: string,
    private readonly maxWaitMs: number,
  ) {}

  async waitFor(positions: readonly PartitionPosition[]): Promise<void> {
    const deadline = Date.now() + this.maxWaitMs;
    let pause = 1;
    let remaining = [...positions];
    for (;;) {
      const applied = await Promise.all(remaining.map((p) => this.isApplied(p)));
      remaining = remaining.filter((_, i) => !applied[i]);
      if (remaining.length === 0) return;
      if (Date.now() >= deadline) throw new ConsistencyTimeoutError(this.maxWaitMs);
      await new Promise((resolve) => setTimeout(resolve, pause));
      pause = Math.min(pause * 2, 25);
    }
  }

  /** Applied = delivered to the group and no entry at or before it still pending. */
  private async isApplied({ partition, id }: PartitionPosition): Promise<boolean> {
    const stream = this.partitions[partition]!.stream;
    const [groups, pending] = await Promise.all([
      this.redis.xinfo('GROUPS', stream) as Promise<unknown[][]>,
      this.redis.xpending(stream, this.group, '-', id, 1) as Promise<unknown[]>,
    ]);
    if (pending.length > 0) return false;
    for (const fields of groups) {
      const info = replyToRecord(fields);
      if (info.name === this.group) return compareIds(String(info['last-delivered-id']), id) >= 0;
    }
    return false;
  }
}

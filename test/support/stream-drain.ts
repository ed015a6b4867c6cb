/** Waits until the workers have applied everything appended so far: the check every count after a load starts with. */
import { allPartitionKeys } from '../../shared/store/keys';
import type { RedisClient } from '../../shared/redis';
import { groupInfo, streamInfo } from '../../shared/store/group-info';
import { compareIds } from '../../shared/stream-ids';

/**
 * Waits until every entry of every partition stream was delivered to `group` and
 * acknowledged: the group's last-delivered-id is the stream's last id and nothing is
 * pending. (XINFO's `lag` is not enough: Redis 7.0 reports it as nil when it cannot tell,
 * e.g. after a restart.)
 * Returns how often a nil lag was seen on the way.
 */
export async function waitForDrained(
  redis: RedisClient,
  prefix: string,
  partitions: number,
  group: string,
  timeoutMs: number,
): Promise<{ nilLagSeen: number }> {
  const deadline = Date.now() + timeoutMs;
  let nilLagSeen = 0;
  for (;;) {
    const behind: string[] = [];
    for (const keys of allPartitionKeys(prefix, partitions)) {
      const stream = await streamInfo(redis, keys);
      if (stream === null) throw new Error(`${keys.stream} does not exist`);
      const info = await groupInfo(redis, keys, group);
      if (info && info.lag === null) nilLagSeen++;
      const lastId = stream.lastGeneratedId;
      const delivered = info ? info.lastDeliveredId : '0-0';
      const pending = info ? info.pending : 0;
      if (compareIds(delivered, lastId) < 0 || pending > 0)
        behind.push(`p${keys.partition}: delivered ${delivered} of ${lastId}, ${pending} pending`);
    }
    if (behind.length === 0) return { nilLagSeen };
    if (Date.now() > deadline) throw new Error(`streams not drained after ${timeoutMs} ms: ${behind.join('; ')}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Waits until the workers have applied everything appended so far: the check every count after a load starts with. */
import { allPartitionKeys } from '../../shared/store/keys';
import type { RedisClient } from '../../shared/redis';
import { replyToRecord } from '../../shared/redis-replies';
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
      const stream = replyToRecord((await redis.xinfo('STREAM', keys.stream)) as unknown[]);
      const groups = ((await redis.xinfo('GROUPS', keys.stream)) as unknown[][]).map((fields) => replyToRecord(fields));
      const info = groups.find((g) => g.name === group);
      if (info && (info.lag === null || info.lag === undefined)) nilLagSeen++;
      const lastId = String(stream['last-generated-id']);
      const delivered = info ? String(info['last-delivered-id']) : '0-0';
      const pending = info ? Number(info.pending) : 0;
      if (compareIds(delivered, lastId) < 0 || pending > 0)
        behind.push(`p${keys.partition}: delivered ${delivered} of ${lastId}, ${pending} pending`);
    }
    if (behind.length === 0) return { nilLagSeen };
    if (Date.now() > deadline) throw new Error(`streams not drained after ${timeoutMs} ms: ${behind.join('; ')}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

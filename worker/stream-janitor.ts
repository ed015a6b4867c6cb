/**
 * Keeps partition streams bounded without losing anything: trims only below the oldest
 * entry any group still needs, and removes consumers that left (heartbeat expired) with nothing pending.
 */
import type { PartitionKeys } from '../shared/store/keys';
import type { RedisClient } from '../shared/redis';
import { replyToRecord } from '../shared/redis-replies';
import { compareIds, nextId } from '../shared/stream-ids';
import { removeConsumer } from './consumer-liveness';

export interface JanitorReport {
  partition: number;
  trimmed: number;
  minId: string | null;
  removedConsumers: string[];
}

/**
 * The lowest id that must be kept: for every group, its oldest pending entry, or else the
 * first entry it has not been delivered. Redis 7.0's XTRIM would delete pending entries
 * too, so the bound is computed from the groups, never assumed.
 */
export async function safeTrimBound(redis: RedisClient, stream: string): Promise<string | null> {
  const reply = (await redis.xinfo('GROUPS', stream).catch((error: Error) => {
    if (/no such key/i.test(error.message)) return []; // the stream does not exist yet
    throw error;
  })) as unknown[][];
  const groups = reply.map(replyToRecord);
  if (groups.length === 0) return null; // nobody has read anything: keep everything
  let bound: string | null = null;
  for (const group of groups) {
    const summary = (await redis.xpending(stream, String(group.name))) as [number, string | null, string | null, unknown];
    const needed = summary[0] > 0 && summary[1] ? summary[1] : nextId(String(group['last-delivered-id']));
    bound = bound === null || compareIds(needed, bound) < 0 ? needed : bound;
  }
  return bound;
}

export async function tidyPartition(
  redis: RedisClient,
  keys: PartitionKeys,
  group: string,
  consumerExpiryMs: number,
): Promise<JanitorReport> {
  const report: JanitorReport = { partition: keys.partition, trimmed: 0, minId: null, removedConsumers: [] };
  const bound = await safeTrimBound(redis, keys.stream);
  if (bound !== null) {
    report.minId = bound;
    report.trimmed = Number(await redis.xtrim(keys.stream, 'MINID', bound));
  }
  const consumers = ((await redis.xinfo('CONSUMERS', keys.stream, group).catch(() => [])) as unknown[][]).map(replyToRecord);
  for (const consumer of consumers) {
    // XINFO only picks candidates (idle means different things on Redis 7.0 and 7.2); the
    // decision is remove-consumer.lua's: heartbeat expired and nothing pending, atomically.
    if (Number(consumer.pending) === 0 && Number(consumer.idle) > consumerExpiryMs) {
      const outcome = await removeConsumer(redis, keys, group, String(consumer.name), 'expired');
      if (outcome === 'removed') report.removedConsumers.push(String(consumer.name));
    }
  }
  return report;
}

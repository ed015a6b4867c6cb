/**
 * Trimming a partition stream without losing anything: only below the oldest entry any
 * group still needs. Redis 7.0's XTRIM would delete pending entries too, so the bound is
 * computed from the groups, never assumed.
 */
import type { PartitionKeys } from './keys';
import type { RedisClient } from '../redis';
import { compareIds, nextId } from '../stream-ids';
import { pendingSummary, streamGroups } from './group-info';

/**
 * The lowest id that must be kept: for every group, its oldest pending entry, or else the
 * first entry it has not been delivered. Null when no group exists (keep everything).
 */
export async function safeTrimBound(redis: RedisClient, keys: PartitionKeys): Promise<string | null> {
  let bound: string | null = null;
  for (const group of await streamGroups(redis, keys.stream)) {
    const pending = await pendingSummary(redis, keys, group.name);
    const needed = pending.oldestId ?? nextId(group.lastDeliveredId);
    bound = bound === null || compareIds(needed, bound) < 0 ? needed : bound;
  }
  return bound;
}

/** Deletes the entries below `minId`; answers how many. */
export async function trimStreamBelow(redis: RedisClient, keys: PartitionKeys, minId: string): Promise<number> {
  return Number(await redis.xtrim(keys.stream, 'MINID', minId));
}

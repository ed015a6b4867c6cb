/**
 * The partition count as recorded in Redis: globally (what services check at start), in
 * each partition's meta hash (what append-samples.lua checks atomically), and the marker of
 * a count change in progress together with each partition's pause flag.
 */
import { globalKeys, type PartitionKeys } from './keys';
import type { RedisClient } from '../redis';

/** Meta hash fields append-samples.lua checks: the count the partition belongs to, and the pause. */
const META_PARTITIONS_FIELD = 'partitions';
const META_PAUSED_FIELD = 'paused';

export interface PartitionChange {
  from: number;
  to: number;
  started_at: string;
}

/** The recorded count, or null on a Redis that has not seen a service yet. */
export async function recordedPartitionCount(redis: RedisClient, prefix: string): Promise<number | null> {
  const raw = await redis.get(globalKeys(prefix).partitionCount);
  return raw === null ? null : Number(raw);
}

/** Records the count unless one is recorded already (first start). */
export async function recordPartitionCountIfMissing(redis: RedisClient, prefix: string, count: number): Promise<void> {
  await redis.set(globalKeys(prefix).partitionCount, String(count), 'NX');
}

/** Records the count, replacing any (the last step of a change). */
export async function recordPartitionCount(redis: RedisClient, prefix: string, count: number): Promise<void> {
  await redis.set(globalKeys(prefix).partitionCount, String(count));
}

/** Does this partition's meta hash hold its count? */
export async function partitionHasCount(redis: RedisClient, keys: PartitionKeys): Promise<boolean> {
  return (await redis.hexists(keys.meta, META_PARTITIONS_FIELD)) === 1;
}

/** Writes the partition's count only where none is (never overwrites). */
export async function recordCountOnPartitionIfMissing(redis: RedisClient, keys: PartitionKeys, count: number): Promise<void> {
  await redis.hsetnx(keys.meta, META_PARTITIONS_FIELD, String(count));
}

/** Writes the partition's count (a removed partition keeps it as a tombstone, refusing stale routers). */
export async function recordCountOnPartition(redis: RedisClient, keys: PartitionKeys, count: number): Promise<void> {
  await redis.hset(keys.meta, META_PARTITIONS_FIELD, String(count));
}

/** The append script refuses a paused partition atomically. */
export async function pausePartition(redis: RedisClient, keys: PartitionKeys): Promise<void> {
  await redis.hset(keys.meta, META_PAUSED_FIELD, '1');
}

export async function resumePartition(redis: RedisClient, keys: PartitionKeys): Promise<void> {
  await redis.hdel(keys.meta, META_PAUSED_FIELD);
}

/** The change in progress, or null. */
export async function readPartitionChange(redis: RedisClient, prefix: string): Promise<PartitionChange | null> {
  const raw = await redis.get(globalKeys(prefix).partitionChange);
  return raw ? (JSON.parse(raw) as PartitionChange) : null;
}

/** Marks a change in progress: ingest refuses writes while it is there. */
export async function recordPartitionChange(redis: RedisClient, prefix: string, change: PartitionChange): Promise<void> {
  await redis.set(globalKeys(prefix).partitionChange, JSON.stringify(change));
}

export async function clearPartitionChange(redis: RedisClient, prefix: string): Promise<void> {
  await redis.del(globalKeys(prefix).partitionChange);
}

/** What ingest refreshes in the background: the recorded count and a change in progress. */
export async function readPartitionState(
  redis: RedisClient,
  prefix: string,
): Promise<{ recorded: number | null; change: PartitionChange | null }> {
  // Two GETs, not MGET: the keys may live in different Redis Cluster slots.
  const [recorded, change] = await Promise.all([recordedPartitionCount(redis, prefix), readPartitionChange(redis, prefix)]);
  return { recorded, change };
}

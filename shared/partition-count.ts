/**
 * The partition count is part of the data: samples are routed by `hash(node) mod count`, so
 * a service started with another STREAM_PARTITIONS than the data was written with would
 * split nodes across partitions. The count is recorded in Redis at first start (globally,
 * and in each partition's meta hash, where append-samples.lua checks it atomically), and a
 * service with another count refuses to start. `nodeagg partitions set N` changes it.
 */
import { allPartitionKeys, globalKeys } from './store/keys';
import type { RedisClient } from './redis';
import { isOutOfMemory } from './redis-memory';

export const META_PARTITIONS_FIELD = 'partitions';
export const META_PAUSED_FIELD = 'paused';

export class PartitionCountMismatchError extends Error {
  constructor(configured: number, recorded: number) {
    super(
      `STREAM_PARTITIONS is ${configured}, but the data in this Redis was written with ${recorded} partitions (recorded at first start). ` +
        `Start with STREAM_PARTITIONS=${recorded}, or change the count with "nodeagg partitions set ${configured}" (docs/RUNBOOK.md).`,
    );
    this.name = 'PartitionCountMismatchError';
  }
}

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

/**
 * At start: records `configured` if nothing is recorded yet, else refuses a different
 * count. Reads first, so a restart under memory pressure (writes refused) still starts.
 */
export async function checkPartitionCount(redis: RedisClient, prefix: string, configured: number): Promise<void> {
  let recorded = await recordedPartitionCount(redis, prefix);
  if (recorded === null) {
    await redis.set(globalKeys(prefix).partitionCount, String(configured), 'NX').catch((error: Error) => {
      if (!isOutOfMemory(error)) throw error; // recorded on a later start
    });
    recorded = (await recordedPartitionCount(redis, prefix)) ?? configured;
  }
  if (recorded !== configured) throw new PartitionCountMismatchError(configured, recorded);
  // Each partition's copy (what the append script checks); written only where missing.
  const partitions = allPartitionKeys(prefix, configured);
  const present = await Promise.all(partitions.map((keys) => redis.hexists(keys.meta, META_PARTITIONS_FIELD)));
  for (const [i, keys] of partitions.entries()) {
    if (present[i]) continue;
    await redis.hsetnx(keys.meta, META_PARTITIONS_FIELD, String(configured)).catch((error: Error) => {
      // Out of memory: appends are refused anyway; the next start records it.
      if (!isOutOfMemory(error)) throw error;
    });
  }
}

/** What ingest refreshes in the background: the recorded count and a change in progress. */
export async function readPartitionState(
  redis: RedisClient,
  prefix: string,
): Promise<{ recorded: number | null; change: PartitionChange | null }> {
  const keys = globalKeys(prefix);
  // Two GETs, not MGET: the keys may live in different Redis Cluster slots.
  const [recorded, change] = await Promise.all([redis.get(keys.partitionCount), redis.get(keys.partitionChange)]);
  return { recorded: recorded === null ? null : Number(recorded), change: change ? (JSON.parse(change) as PartitionChange) : null };
}

/**
 * The partition count is part of the data: samples are routed by `hash(node) mod count`, so
 * a service started with another STREAM_PARTITIONS than the data was written with would
 * split nodes across partitions. The count is recorded in Redis at first start (globally,
 * and in each partition's meta hash, where append-samples.lua checks it atomically), and a
 * service with another count refuses to start. `nodeagg partitions set N` changes it.
 */
import { allPartitionKeys } from './store/keys';
import type { RedisClient } from './redis';
import { isOutOfMemory } from './store/redis-errors';
import {
  partitionHasCount,
  recordCountOnPartitionIfMissing,
  recordedPartitionCount,
  recordPartitionCountIfMissing,
} from './store/partition-count';

export class PartitionCountMismatchError extends Error {
  constructor(configured: number, recorded: number) {
    super(
      `STREAM_PARTITIONS is ${configured}, but the data in this Redis was written with ${recorded} partitions (recorded at first start). ` +
        `Start with STREAM_PARTITIONS=${recorded}, or change the count with "nodeagg partitions set ${configured}" (docs/RUNBOOK.md).`,
    );
    this.name = 'PartitionCountMismatchError';
  }
}

/**
 * At start: records `configured` if nothing is recorded yet, else refuses a different
 * count. Reads first, so a restart under memory pressure (writes refused) still starts.
 */
export async function checkPartitionCount(redis: RedisClient, prefix: string, configured: number): Promise<void> {
  let recorded = await recordedPartitionCount(redis, prefix);
  if (recorded === null) {
    await recordPartitionCountIfMissing(redis, prefix, configured).catch((error: Error) => {
      if (!isOutOfMemory(error)) throw error; // recorded on a later start
    });
    recorded = (await recordedPartitionCount(redis, prefix)) ?? configured;
  }
  if (recorded !== configured) throw new PartitionCountMismatchError(configured, recorded);
  // Each partition's copy (what the append script checks); written only where missing.
  const partitions = allPartitionKeys(prefix, configured);
  const present = await Promise.all(partitions.map((keys) => partitionHasCount(redis, keys)));
  for (const [i, keys] of partitions.entries()) {
    if (present[i]) continue;
    await recordCountOnPartitionIfMissing(redis, keys, configured).catch((error: Error) => {
      // Out of memory: appends are refused anyway; the next start records it.
      if (!isOutOfMemory(error)) throw error;
    });
  }
}

/** Counts process samples in the aggregates (the all-processes 1-second buckets of every partition). */
import { allPartitionKeys } from '../../shared/store/keys';
import type { RedisClient } from '../../shared/redis';
import { storedBuckets } from '../../shared/store/bucket-codec';
import { scanKeys } from './aggregate-totals';

export async function processSampleCount(redis: RedisClient, prefix: string, partitions: number): Promise<number> {
  let samples = 0;
  for (const p of allPartitionKeys(prefix, partitions)) {
    const pattern = p
      .allProcessesFine(0)
      .replace(/0$/, '*')
      .replace(/[{}]/g, (c) => `\\${c}`);
    for (const key of await scanKeys(redis, pattern)) {
      for (const bucket of storedBuckets(await redis.hgetallBuffer(key))) samples += bucket.samples;
    }
  }
  return samples;
}

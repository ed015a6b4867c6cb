/** Counts process samples in the aggregates (the all-processes 1-second buckets of every partition). */
import { allPartitionKeys } from '../../shared/store/keys';
import type { RedisClient } from '../../shared/redis';
import { storedBuckets } from '../../shared/store/bucket-codec';

export async function processSampleCount(redis: RedisClient, prefix: string, partitions: number): Promise<number> {
  let samples = 0;
  for (const p of allPartitionKeys(prefix, partitions)) {
    const pattern = p
      .allProcessesFine(0)
      .replace(/0$/, '*')
      .replace(/[{}]/g, (c) => `\\${c}`);
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      cursor = next;
      for (const key of keys) for (const bucket of storedBuckets(await redis.hgetallBuffer(key))) samples += bucket.samples;
    } while (cursor !== '0');
  }
  return samples;
}

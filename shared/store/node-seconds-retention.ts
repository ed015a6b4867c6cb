/**
 * Ends the retention of the nodes' 1-second buckets: the maintenance job unlinks each
 * partition's minute hashes once they are past FINE_RETENTION_MS (keys.ts says why not by
 * expiry alone). One UNLINK per partition names every minute that may still exist (all in
 * the partition's slot); a minute already gone costs a lookup.
 */
import { nodeSecondsChunksPastRetention, type PartitionKeys } from './keys';
import type { RedisClient } from '../redis';

/** Unlinks the partition's node hashes past retention at `nowMs`; answers how many existed. */
export async function unlinkPastNodeSeconds(redis: RedisClient, keys: PartitionKeys, nowMs: number): Promise<number> {
  const chunks = nodeSecondsChunksPastRetention(nowMs);
  if (chunks.length === 0) return 0;
  return redis.unlink(...chunks.map((chunk) => keys.nodeSeconds(chunk)));
}

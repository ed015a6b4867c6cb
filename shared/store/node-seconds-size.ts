/**
 * How large a partition's node seconds have grown: the fields of its last complete minute's
 * hash (one per node and second with a sample, plus the hash's expiry record). On a Redis
 * Cluster that hash is the largest key of the partition's slot, and moving the slot
 * migrates it whole while its master serves nobody else (docs/RUNBOOK.md, "Moving slots").
 */
import { fineBucketOf, nodeSecondsChunkOf, type PartitionKeys } from './keys';
import type { RedisClient } from '../redis';

/** Fields of the partition's node-seconds hash of the minute before the one `nowMs` is in (0 when none). */
export async function lastMinuteNodeSecondsFields(redis: RedisClient, keys: PartitionKeys, nowMs: number): Promise<number> {
  return redis.hlen(keys.nodeSeconds(nodeSecondsChunkOf(fineBucketOf(nowMs)) - 1));
}

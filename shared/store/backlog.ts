/** How far the workers are behind on one partition, as backpressure counts it. */
import type { PartitionKeys } from './keys';
import type { RedisClient } from '../redis';
import { groupInfo, streamLength } from './group-info';

/**
 * Entries of the partition stream not yet acknowledged by the group: not yet delivered
 * (lag) plus pending. Without the group, or when Redis cannot tell the lag, every entry of
 * the stream counts as undelivered.
 */
export async function unacknowledgedEntries(redis: RedisClient, keys: PartitionKeys, group: string): Promise<number> {
  const [info, length] = await Promise.all([groupInfo(redis, keys, group), streamLength(redis, keys)]);
  return (info?.lag ?? length) + (info?.pending ?? 0);
}

/**
 * What ingest and the worker both do with their Redis connection before serving: connect,
 * refuse a storage format or partition count other than the recorded ones, and make sure the consumer groups
 * exist (created in the background while Redis refuses writes, e.g. at maxmemory).
 */
import type { Config } from './config';
import type { PartitionKeys } from './store/keys';
import { checkPartitionCount } from './partition-count';
import { checkSchemaVersion } from './store/schema-version';
import { connectOrFail, type RedisClient } from './redis';
import { ensureGroupsAtStart } from './stream-groups';
import type { ThrottledWarnings } from './throttled-warnings';

/** Resolves to the function that stops the background group creation. */
export async function prepareRedis(
  redis: RedisClient,
  config: Config,
  partitions: readonly PartitionKeys[],
  warnings: ThrottledWarnings,
): Promise<() => void> {
  await connectOrFail(redis, 10_000);
  const checks = async () => {
    await checkSchemaVersion(redis, config.keyPrefix);
    await checkPartitionCount(redis, config.keyPrefix, config.streamPartitions);
  };
  await checks().catch(async (error) => {
    await redis.quit().catch(() => redis.disconnect());
    throw error;
  });
  return ensureGroupsAtStart(redis, partitions, config.consumerGroup, (error) =>
    warnings.warn('groups', { err: error.message }, 'cannot create the consumer groups yet; retrying'),
  );
}

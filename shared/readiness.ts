/**
 * The readiness check both services share: Redis answers and the service is not draining.
 * It never writes: a Redis at maxmemory refuses writes, and a check that writes would take
 * every pod out of the Service at once. Missing groups are reported, not created here
 * (services create them at start and workers on NOGROUP).
 */
import type { PartitionKeys } from './store/keys';
import type { RedisClient } from './redis';
import type { ReadinessReport } from './health-routes';
import { pingRedis } from './store/redis-ping';
import { partitionsWithoutGroup } from './store/stream-groups';

export async function checkReadiness(
  redis: RedisClient,
  partitions: readonly PartitionKeys[],
  group: string,
  draining: boolean,
): Promise<ReadinessReport> {
  const checks: Record<string, boolean | string> = { draining };
  try {
    await pingRedis(redis);
    checks.redis = true;
  } catch (error) {
    checks.redis = (error as Error).message;
    return { ready: false, checks };
  }
  try {
    const missing = await partitionsWithoutGroup(redis, partitions, group);
    checks.streams = missing.length === 0 ? true : `consumer group not yet created on partition ${missing.join(', ')}`;
  } catch (error) {
    checks.streams = (error as Error).message;
  }
  return { ready: !draining, checks };
}

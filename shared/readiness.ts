/** The readiness check both services share: Redis answers, streams and group exist, not draining. */
import type { PartitionKeys } from './keys';
import type { RedisClient } from './redis';
import type { ReadinessReport } from './health-routes';
import { ensureGroups } from './stream-groups';

export async function checkReadiness(
  redis: RedisClient,
  partitions: readonly PartitionKeys[],
  group: string,
  draining: boolean,
): Promise<ReadinessReport> {
  const checks: Record<string, boolean | string> = { draining };
  try {
    await redis.ping();
    checks.redis = true;
  } catch (error) {
    checks.redis = (error as Error).message;
    return { ready: false, checks };
  }
  try {
    // Recreates what a Redis without persistence lost on restart.
    await ensureGroups(redis, partitions, group);
    checks.streams = true;
  } catch (error) {
    checks.streams = (error as Error).message;
  }
  return { ready: checks.streams === true && !draining, checks };
}

/** Creates the consumer groups at start-up, retrying in the background while Redis refuses. */
import type { PartitionKeys } from './store/keys';
import type { RedisClient } from './redis';
import { ensureGroups } from './store/stream-groups';

const START_RETRY_MS = 1000;

/**
 * At start-up: creates what is missing, and when Redis refuses (out of memory, say) keeps
 * retrying in the background instead of failing the start, so no crash loop. Workers also
 * recreate a missing group when a read answers NOGROUP. Returns a stop function.
 */
export async function ensureGroupsAtStart(
  redis: RedisClient,
  partitions: readonly PartitionKeys[],
  group: string,
  onError: (error: Error) => void,
): Promise<() => void> {
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const attempt = async () => {
    try {
      await ensureGroups(redis, partitions, group);
    } catch (error) {
      onError(error as Error);
      if (stopped) return;
      timer = setTimeout(() => void attempt(), START_RETRY_MS);
      timer.unref();
    }
  };
  await attempt();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}

/** Creates each partition stream and its consumer group when missing (idempotent). */
import type { PartitionKeys } from './store/keys';
import type { RedisClient } from './redis';

const START_RETRY_MS = 1000;

export async function ensureGroups(redis: RedisClient, partitions: readonly PartitionKeys[], group: string): Promise<void> {
  await Promise.all(partitions.map((p) => ensureGroup(redis, p.stream, group)));
}

export async function ensureGroup(redis: RedisClient, stream: string, group: string): Promise<void> {
  // Look before creating: XGROUP CREATE is a write, which Redis refuses at maxmemory even
  // when the group exists, and a service must start then too.
  if (await groupExists(redis, stream, group)) return;
  try {
    // From the start of the stream: entries appended before the first worker are not skipped.
    await redis.xgroup('CREATE', stream, group, '0', 'MKSTREAM');
  } catch (error) {
    if (!(error instanceof Error) || !error.message.startsWith('BUSYGROUP')) throw error;
  }
}

/** Read-only: does `stream` have consumer group `group`? */
export async function groupExists(redis: RedisClient, stream: string, group: string): Promise<boolean> {
  try {
    const groups = (await redis.xinfo('GROUPS', stream)) as unknown[][];
    return groups.some((fields) => fields[0] === 'name' && fields[1] === group);
  } catch (error) {
    if (/no such key/i.test((error as Error).message)) return false;
    throw error;
  }
}

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

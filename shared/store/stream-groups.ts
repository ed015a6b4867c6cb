/** Creates each partition stream and its consumer group when missing (idempotent). */
import type { PartitionKeys } from './keys';
import type { RedisClient } from '../redis';
import { streamGroups } from './group-info';
import { classifyRedisError } from './redis-errors';
import { sendRouted } from './routed-command';

export async function ensureGroups(redis: RedisClient, partitions: readonly PartitionKeys[], group: string): Promise<void> {
  await Promise.all(partitions.map((p) => ensureGroup(redis, p.stream, group)));
}

export async function ensureGroup(redis: RedisClient, stream: string, group: string): Promise<void> {
  // Look before creating: XGROUP CREATE is a write, which Redis refuses at maxmemory even
  // when the group exists, and a service must start then too.
  if (await groupExists(redis, stream, group)) return;
  try {
    // From the start of the stream: entries appended before the first worker are not skipped.
    await sendRouted(redis, stream, 'xgroup', ['CREATE', stream, group, '0', 'MKSTREAM']);
  } catch (error) {
    if (classifyRedisError(error) !== 'group-exists') throw error;
  }
}

/** Read-only: does `stream` have consumer group `group`? */
export async function groupExists(redis: RedisClient, stream: string, group: string): Promise<boolean> {
  return (await streamGroups(redis, stream)).some((g) => g.name === group);
}

/** Read-only: the partitions whose stream lacks the group (one read per partition, in parallel). */
export async function partitionsWithoutGroup(redis: RedisClient, partitions: readonly PartitionKeys[], group: string): Promise<number[]> {
  const present = await Promise.all(partitions.map((p) => groupExists(redis, p.stream, group)));
  return partitions.filter((_, i) => !present[i]).map((p) => p.partition);
}

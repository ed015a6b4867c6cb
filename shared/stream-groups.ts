/** Creates each partition stream and its consumer group when missing (idempotent). */
import type { PartitionKeys } from './keys';
import type { RedisClient } from './redis';

export async function ensureGroups(redis: RedisClient, partitions: readonly PartitionKeys[], group: string): Promise<void> {
  await Promise.all(partitions.map((p) => ensureGroup(redis, p.stream, group)));
}

export async function ensureGroup(redis: RedisClient, stream: string, group: string): Promise<void> {
  try {
    // From the start of the stream: entries appended before the first worker are not skipped.
    await redis.xgroup('CREATE', stream, group, '0', 'MKSTREAM');
  } catch (error) {
    if (!(error instanceof Error) || !error.message.startsWith('BUSYGROUP')) throw error;
  }
}

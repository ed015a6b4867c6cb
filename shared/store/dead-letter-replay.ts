/** Appending a dead-lettered entry to its partition stream again, at most once (replay-entry.lua). */
import { partitionKeys } from './keys';
import { registerScripts } from './scripts';
import type { RedisClient } from '../redis';

/** How long a replayed entry stays marked, so a retried replay appends nothing. */
const REPLAY_MARK_TTL_SECONDS = 7 * 86400;

/** True when appended now; false when this entry was replayed before. */
export async function replayEntry(
  redis: RedisClient,
  prefix: string,
  partition: number,
  partitionCount: number,
  entryId: string,
  fields: readonly string[],
): Promise<boolean> {
  registerScripts(redis);
  const keys = partitionKeys(prefix, partition, partitionCount);
  return (await redis.replayEntry(keys.stream, keys.replayed(entryId), REPLAY_MARK_TTL_SECONDS, ...fields)) !== null;
}

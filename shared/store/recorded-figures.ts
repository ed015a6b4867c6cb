/** The pipeline figures the maintenance job records each tick (one JSON value, read by /metrics on both services). */
import { globalKeys } from './keys';
import type { PipelineFigures } from '../pipeline-figures';
import type { RedisClient } from '../redis';

/** The figures last recorded, or null (none yet, expired, or unreadable). */
export async function readRecordedFigures(redis: RedisClient, prefix: string): Promise<PipelineFigures | null> {
  const raw = await redis.get(globalKeys(prefix).pipelineFigures);
  if (raw === null) return null;
  try {
    return JSON.parse(raw) as PipelineFigures;
  } catch {
    return null;
  }
}

/** Records this tick's figures; they expire when no maintenance tick renews them. */
export async function recordFigures(redis: RedisClient, prefix: string, figures: PipelineFigures, ttlMs: number): Promise<void> {
  await redis.set(globalKeys(prefix).pipelineFigures, JSON.stringify(figures), 'PX', ttlMs);
}

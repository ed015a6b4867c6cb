/** The pipeline figures the maintenance job records each tick (one JSON value, read by /metrics on both services). */
import { globalKeys } from './keys';
import type { RedisClient } from '../redis';

export interface PartitionFigures {
  partition: number;
  length: number;
  lag: number;
  pending: number;
  oldest_pending_age_ms: number | null;
  oldest_pending_id: string | null;
  /** When the current oldest pending entry was first seen as the oldest (ms since epoch). */
  oldest_pending_since: number | null;
  /** Holds a pending entry that has stayed the oldest for PARTITION_STALL_AFTER_MS: not advancing. */
  stalled: boolean;
  /** Fields of the node-seconds hash of the last complete minute (node-seconds-size.ts). */
  node_seconds_fields: number;
}

export interface PipelineFigures {
  recorded_at: string;
  dead_letters: number;
  partitions: PartitionFigures[];
}

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

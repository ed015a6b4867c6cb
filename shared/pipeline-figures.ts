/** The figures the maintenance job records each tick, which /metrics exports on both services. */
import type { PipelineStatus } from './pipeline-status';

export interface PipelineFigures {
  recorded_at: string;
  dead_letters: number;
  partitions: { partition: number; length: number; lag: number; pending: number; oldest_pending_age_ms: number | null }[];
}

export function figuresOf(status: PipelineStatus, deadLetters: number, now: Date): PipelineFigures {
  return {
    recorded_at: now.toISOString(),
    dead_letters: deadLetters,
    partitions: status.partitions.map((p) => ({
      partition: p.partition,
      length: p.length,
      lag: p.lag ?? 0,
      pending: p.pending,
      oldest_pending_age_ms: p.oldest_pending_age_ms,
    })),
  };
}

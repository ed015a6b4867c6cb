/** The figures the maintenance job records each tick, which /metrics exports on both services. */
import type { PipelineStatus } from './pipeline-status';
import type { PipelineFigures } from './store/recorded-figures';

/**
 * Figures of this tick. A partition is stalled when the same entry has been its oldest
 * pending one for `stallAfterMs`, as told by comparing with the previous tick's figures.
 */
export function figuresOf(
  status: PipelineStatus,
  deadLetters: number,
  now: Date,
  previous: PipelineFigures | null = null,
  stallAfterMs = Infinity,
  nodeSecondsFields: ReadonlyMap<number, number> = new Map(),
): PipelineFigures {
  return {
    recorded_at: now.toISOString(),
    dead_letters: deadLetters,
    partitions: status.partitions.map((p) => {
      const before = previous?.partitions.find((q) => q.partition === p.partition);
      const id = p.oldest_pending_id;
      const since =
        id === null
          ? null
          : before?.oldest_pending_id === id && before.oldest_pending_since !== null
            ? before.oldest_pending_since
            : now.getTime();
      return {
        partition: p.partition,
        length: p.length,
        lag: p.lag ?? 0,
        pending: p.pending,
        oldest_pending_age_ms: p.oldest_pending_age_ms,
        oldest_pending_id: id,
        oldest_pending_since: since,
        stalled: since !== null && now.getTime() - since >= stallAfterMs,
        node_seconds_fields: nodeSecondsFields.get(p.partition) ?? 0,
      };
    }),
  };
}

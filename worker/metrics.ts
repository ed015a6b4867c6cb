/** Prometheus metrics of the worker. */
import { Counter, Histogram, Registry } from 'prom-client';
import { collectProcessMetrics } from '../shared/process-metrics';

export interface WorkerMetrics {
  registry: Registry;
  entriesApplied: Counter;
  samplesApplied: Counter;
  entriesSkipped: Counter;
  entriesReclaimed: Counter;
  poisonEntries: Counter;
  deadLettered: Counter;
  readErrors: Counter;
  applyDelay: Histogram;
}

/** Seconds from append to apply: a few ms when caught up, minutes while a backlog drains. */
const APPLY_DELAY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800];

export function createWorkerMetrics(): WorkerMetrics {
  const registry = new Registry();
  collectProcessMetrics(registry, 'nodeagg_worker_');
  const counter = (name: string, help: string) => new Counter({ name, help, registers: [registry] });
  return {
    registry,
    entriesApplied: counter('nodeagg_entries_applied_total', 'Stream entries applied and acknowledged.'),
    samplesApplied: counter('nodeagg_samples_applied_total', 'Samples folded into the aggregates.'),
    entriesSkipped: counter('nodeagg_entries_skipped_total', 'Deliveries of entries another delivery had already applied.'),
    entriesReclaimed: counter('nodeagg_entries_reclaimed_total', 'Entries taken over from consumers that left them idle.'),
    poisonEntries: counter('nodeagg_failed_deliveries_total', 'Deliveries of entries that could not be decoded or applied.'),
    deadLettered: counter('nodeagg_dead_lettered_total', 'Entries moved to the dead-letter queue.'),
    readErrors: counter('nodeagg_read_errors_total', 'Failed reads or applies (Redis errors); retried with backoff.'),
    applyDelay: new Histogram({
      name: 'nodeagg_apply_delay_seconds',
      help: "Per applied entry: from its append (its stream id, Redis's clock) to the commit of the apply that counted it (the worker's clock).",
      buckets: APPLY_DELAY_BUCKETS,
      registers: [registry],
    }),
  };
}

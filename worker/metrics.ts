/** Prometheus metrics of the worker. */
import { Counter, Registry } from 'prom-client';
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
}

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
  };
}

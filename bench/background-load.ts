/**
 * The ingest load beside the query phases: `nodeagg load`'s open-loop generator at a fixed
 * rate, 500-sample batches of a fleet with 5 processes per node, no freshness probes.
 */
import type { ApiClient } from '../cli/api-client';
import { runOpenLoop, type LoadReport } from '../cli/load/open-loop';

export function backgroundLoad(client: ApiClient, options: { nodes: number; rate: number; durationMs: number }): Promise<LoadReport> {
  return runOpenLoop(client, {
    nodes: options.nodes,
    processes: 5,
    timeslice: 10,
    prefix: 'b',
    rate: options.rate,
    durationMs: options.durationMs,
    batch: 500,
    maxInFlight: 256,
    lingerMs: 100,
    freshnessEveryMs: 0,
    requestTimeoutMs: 30_000,
  });
}

/**
 * The ingest load beside the query phases: `nodeagg load`'s open-loop generator in a process of
 * its own (load-generator.ts) at a fixed rate, 500-sample batches of a fleet with 5 processes
 * per node, no freshness probes. Returned ready; `run()` starts it.
 */
import { startLoadGenerator, type LoadGenerator } from './load-generator';

export function backgroundLoad(
  url: string,
  token: string,
  options: { nodes: number; rate: number; durationMs: number },
): Promise<LoadGenerator> {
  return startLoadGenerator(url, token, {
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

/**
 * The child side of load-generator.ts: builds the fleet, says it is ready, runs the open loop
 * when told to, and sends its report back; it stays (so that its run time can still be read) until
 * the parent disconnects. Its own process, so that its timetable is kept by an
 * event loop and a heap of its own, not the benchmark's (which holds the earlier phases' fleets
 * and paused the generator for hundreds of milliseconds at 100,000 nodes).
 */
import { ApiClient } from '../cli/api-client';
import { runOpenLoop, type LoadOptions, type LoadReport } from '../cli/load/open-loop';
import { SyntheticFleet } from '../cli/load/synthetic-fleet';

export interface GeneratorStart {
  url: string;
  token: string;
  options: LoadOptions;
}

export type GeneratorMessage = { kind: 'ready' } | { kind: 'report'; report: LoadReport } | { kind: 'failed'; message: string };

function send(message: GeneratorMessage): Promise<void> {
  return new Promise((resolve) => process.send!(message, undefined, undefined, () => resolve()));
}

// Pooled keep-alive connections would keep it alive past its phase.
process.once('disconnect', () => process.exit(0));

process.once('message', (start: GeneratorStart) => {
  const fleet = new SyntheticFleet(start.options);
  const client = new ApiClient(start.url, start.token);
  process.once('message', () => {
    runOpenLoop(client, start.options, undefined, fleet)
      .then((report) => send({ kind: 'report', report }))
      .catch((error: unknown) => send({ kind: 'failed', message: String(error) }));
  });
  void send({ kind: 'ready' });
});

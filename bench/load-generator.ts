/**
 * `nodeagg load`'s open-loop generator in a process of its own (load-generator-process.ts): the
 * freshness and query phases' load. Started and ready (modules loaded, fleet built) before its
 * phase is measured; `run()` then starts its timetable and resolves with its report, and
 * `stop()` ends the process once the phase's measurements have read it.
 */
import { fork } from 'node:child_process';
import { join } from 'node:path';
import type { LoadOptions, LoadReport } from '../cli/load/open-loop';
import type { GeneratorMessage, GeneratorStart } from './load-generator-process';

export interface LoadGenerator {
  pid: number;
  /** Starts the timetable; resolves with the report, the process still there. */
  run(): Promise<LoadReport>;
  /** Ends the process (after its phase is measured). */
  stop(): Promise<void>;
}

export async function startLoadGenerator(url: string, token: string, options: LoadOptions): Promise<LoadGenerator> {
  const child = fork(join(__dirname, 'load-generator-process.js'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const exited = new Promise<never>((_, reject) =>
    child.once('exit', (code, signal) => reject(new Error(`the load generator exited (${signal ?? code}) before its report`))),
  );
  exited.catch(() => undefined); // seen through next(); after the report, exiting is expected
  const next = () => Promise.race([new Promise<GeneratorMessage>((resolve) => child.once('message', resolve)), exited]);
  const ready = next();
  child.send({ url, token, options } satisfies GeneratorStart);
  const first = await ready;
  if (first.kind !== 'ready') throw new Error(`the load generator did not start: ${first.kind === 'failed' ? first.message : first.kind}`);
  return {
    pid: child.pid ?? 0,
    async run() {
      const done = next();
      child.send('go');
      const message = await done;
      if (message.kind !== 'report')
        throw new Error(`the load generator failed: ${message.kind === 'failed' ? message.message : message.kind}`);
      return message.report;
    },
    async stop() {
      // Waited for, so that its CPU counts as the benchmark's own (cpu-share.ts).
      if (child.exitCode !== null || child.signalCode !== null) return;
      const gone = new Promise((resolve) => child.once('exit', resolve));
      if (child.connected) child.disconnect();
      else child.kill();
      await gone;
    },
  };
}

/**
 * A CPU profile of part of the benchmark's own process (node:inspector), for work measured
 * in process such as bench:apply's applies: `node --cpu-prof` would profile the filling and
 * reading around them too. The file is a `.cpuprofile`, summarised by profile-summary.
 */
import { Session } from 'node:inspector/promises';
import { writeFileSync } from 'node:fs';

/** Runs `work` under the profiler and writes its profile to `file`; answers what `work` answers. */
export async function profiled<T>(file: string, work: () => Promise<T>): Promise<T> {
  const session = new Session();
  session.connect();
  try {
    await session.post('Profiler.enable');
    // The default 1 ms interval sees too few samples of applies that take seconds in all.
    await session.post('Profiler.setSamplingInterval', { interval: 100 });
    await session.post('Profiler.start');
    const result = await work();
    const { profile } = await session.post('Profiler.stop');
    writeFileSync(file, JSON.stringify(profile));
    return result;
  } finally {
    session.disconnect();
  }
}

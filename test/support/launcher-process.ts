/**
 * A launcher (`npm start`, `npm run start:cluster`) run as its own process, as a user runs it:
 * on free ingest and worker ports, with a `REDIS_URL` nothing listens on (port 1), so it must
 * start its own Redis. Its output is collected for the test to read.
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Readable } from 'node:stream';
import { freePort } from '../../launcher/free-port';

export interface LauncherProcess {
  child: ChildProcessByStdio<null, Readable, Readable>;
  ingestPort: number;
  workerPort: number;
  /** Everything it printed so far, both streams. */
  output(): string;
}

export async function startLauncher(script: string): Promise<LauncherProcess> {
  const [ingestPort, workerPort] = [await freePort(), await freePort()];
  const child = spawn(process.execPath, [script], {
    env: {
      ...process.env,
      // Port 1: nothing listens there, and no other test's Redis can take it meanwhile.
      REDIS_URL: 'redis://127.0.0.1:1',
      INGEST_PORT: String(ingestPort),
      WORKER_HEALTH_PORT: String(workerPort),
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  return { child, ingestPort, workerPort, output: () => output };
}

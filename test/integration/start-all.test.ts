/** `npm start`: with no Redis answering, the launcher starts a private one and runs both services. */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SERVICE_NODE_FLAGS } from '../../launcher/service-node-flags';
import { answers200, postJson, request } from '../support/fetch-json';
import { startLauncher } from '../support/launcher-process';
import { waitUntil } from '../support/wait-until';
import { portRefuses } from '../support/port-refuses';
import { exited } from '../support/worker-process';

const LAUNCHER = join(__dirname, '..', '..', 'dist', 'launcher', 'start-all.js');

const commandLine = (pid: string) =>
  readFileSync(`/proc/${pid}/cmdline`, 'utf8')
    .split('\0')
    .filter((arg) => arg !== '');

/** The command lines of a process's children (Linux /proc). */
function childCommandLines(parent: number): string[][] {
  const lines: string[][] = [];
  for (const pid of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      // Fields after the name (which may hold spaces) start after its closing parenthesis.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === parent) lines.push(commandLine(pid));
    } catch {
      // gone meanwhile
    }
  }
  return lines;
}

test('without a Redis it starts a private one, serves the API, and Ctrl-C stops everything', async () => {
  const launcher = await startLauncher(LAUNCHER);
  const { child, ingestPort, workerPort } = launcher;
  try {
    const url = `http://127.0.0.1:${ingestPort}`;
    // Ingest and the worker start side by side: either may be ready first.
    await waitUntil(
      async () => (await answers200(`${url}/readyz`)) && (await answers200(`http://127.0.0.1:${workerPort}/readyz`)),
      30_000,
      100,
    ).catch((error: Error) => {
      throw new Error(`${error.message}; launcher output:\n${launcher.output()}`);
    });
    expect(launcher.output()).toMatch(/started a private redis-server at redis:\/\/127\.0\.0\.1:\d+/);
    // Both services run with the Node flags they are deployed with.
    const services = childCommandLines(child.pid!);
    for (const role of ['ingest', 'worker'] as const) {
      const started = services.filter((argv) => argv.some((arg) => arg.endsWith(`dist/${role}/main.js`)));
      expect(started).toHaveLength(1);
      expect(started[0]).toEqual(expect.arrayContaining([...SERVICE_NODE_FLAGS[role]]));
    }
    const posted = await postJson(`${url}/v1/metrics/node/laptop`, { timeslice: 10, cpu: 12, mem: 34 });
    expect(posted.status).toBe(202);
    const average = await request(`${url}/v1/analytics/nodes/average?after=${posted.body.token}`);
    expect(average.body).toMatchObject({ cpu_used: 12, mem_used: 34 });
  } finally {
    const done = exited(child);
    child.kill('SIGINT');
    expect(await done).toEqual({ code: 0, signal: null });
  }
  const redisPort = /127\.0\.0\.1:(\d+)/.exec(launcher.output())?.[1];
  // The private Redis went away with it: its port refuses connections.
  expect(await portRefuses(Number(redisPort))).toBe(true);
}, 60_000);

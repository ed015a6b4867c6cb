/**
 * `npm run start:cluster`: a private 3-master/3-replica Redis Cluster, ingest and a worker in
 * cluster mode; samples of several partitions go through; Ctrl-C stops every process.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { runRedisCli } from '../../launcher/private-cluster';
import { answers200, postJson, request } from '../support/fetch-json';
import { startLauncher } from '../support/launcher-process';
import { portRefuses } from '../support/port-refuses';
import { waitUntil, within } from '../support/wait-until';
import { exited, killHard } from '../support/worker-process';

const LAUNCHER = join(__dirname, '..', '..', 'dist', 'launcher', 'start-cluster.js');
const SEEDS = /REDIS_CLUSTER_NODES\): (\S+)/;
const DATA_DIRS = /kept after the session\): (.+)$/m;

test('starts a private cluster, serves the API in cluster mode, and Ctrl-C stops everything', async () => {
  const launcher = await startLauncher(LAUNCHER);
  const { child, ingestPort, workerPort } = launcher;
  let exit: Awaited<ReturnType<typeof exited>> | undefined;
  let withAppendOnlyFiles: string[] = [];
  const printed = (pattern: RegExp, separator: string) => pattern.exec(launcher.output())?.[1]?.split(separator) ?? [];
  // Each step is bounded and a failure names it with what the launcher printed: a bare test
  // timeout (seen once in a full CI run, never alone) would not say which step hung.
  const step = <T>(timeoutMs: number, name: string, promise: Promise<T>): Promise<T> =>
    within(timeoutMs, name, promise).catch((error: Error) => {
      error.message += `; launcher output:\n${launcher.output()}`;
      throw error;
    });
  try {
    const url = `http://127.0.0.1:${ingestPort}`;
    await step(
      60_000,
      'ingest ready',
      waitUntil(() => answers200(`${url}/readyz`), 60_000, 100),
    );
    const seeds = printed(SEEDS, ',');
    expect(seeds).toHaveLength(6);
    expect(printed(DATA_DIRS, ' ')).toHaveLength(6);
    const roles = (await step(10_000, 'CLUSTER NODES', runRedisCli(['-p', seeds[0]!.split(':')[1]!, 'cluster', 'nodes'])))
      .split('\n')
      .filter(Boolean);
    expect(roles.filter((line) => / (myself,)?master /.test(line))).toHaveLength(3);
    expect(roles.filter((line) => / (myself,)?slave /.test(line))).toHaveLength(3);
    // Ingest and the worker start together: one ready says nothing of the other (a single
    // look at the worker failed once in a full CI run on a busy machine).
    await step(
      30_000,
      'worker ready',
      waitUntil(() => answers200(`http://127.0.0.1:${workerPort}/readyz`), 30_000, 100),
    );
    // 6 partitions by default, 2 on each master.
    const pipelineView = await step(10_000, 'GET /v1/pipeline', request(`${url}/v1/pipeline`));
    const shards = (pipelineView.body.partitions as { shard: { address: string } }[]).map((p) => p.shard.address);
    expect(shards).toHaveLength(6);
    expect([...new Set(shards)].map((address) => shards.filter((a) => a === address).length)).toEqual([2, 2, 2]);

    // Twelve nodes hash to several partitions, so to several masters.
    const items = Array.from({ length: 12 }, (_, i) => ({ node: `laptop-${i}`, timeslice: 10, cpu: 10 + i, mem: 40 }));
    const posted = await step(10_000, 'POST /v1/samples', postJson(`${url}/v1/samples`, items));
    expect(posted.status).toBe(202);
    const average = await step(15_000, 'read-after-write query', request(`${url}/v1/analytics/nodes/average?after=${posted.body.token}`));
    expect(average.status).toBe(200);
    expect(average.body).toMatchObject({ cpu_used: 15.5, mem_used: 40 });
  } finally {
    const done = exited(child);
    child.kill('SIGINT');
    // The launcher stops ingest and the worker (each drains for up to SHUTDOWN_TIMEOUT_MS, 20 s),
    // then the nodes (a master waits up to Redis's shutdown-timeout, 10 s, for its replica).
    exit = await step(60_000, 'stop on Ctrl-C', done).catch(async (error: Error) => {
      const alive = stillRunning(child.pid);
      error.message += `\nits processes still running:\n${alive.map((p) => `${p.pid} ${p.args}`).join('\n')}`;
      for (const p of alive) process.kill(p.pid, 'SIGKILL');
      await killHard(child);
      throw error;
    });
    // Append-only data stays for a look after the session: checked, then removed.
    withAppendOnlyFiles = printed(DATA_DIRS, ' ').filter((dir) => readdirSync(dir).some((name) => name.startsWith('appendonly')));
    for (const dir of printed(DATA_DIRS, ' ')) rmSync(dir, { recursive: true, force: true });
  }
  expect(exit).toEqual({ code: 0, signal: null });
  expect(withAppendOnlyFiles).toEqual(printed(DATA_DIRS, ' '));
  for (const seed of printed(SEEDS, ',')) expect(await portRefuses(Number(seed.split(':')[1]))).toBe(true);
}, 150_000);

test('without redis-server and redis-cli it says what to install and exits 1', async () => {
  const child = spawn(process.execPath, [LAUNCHER], {
    env: { ...process.env, PATH: join(__dirname, 'no-such-folder') },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk));
  expect(existsSync(join(__dirname, 'no-such-folder'))).toBe(false);
  expect(await exited(child)).toEqual({ code: 1, signal: null });
  expect(stderr).toContain('needs redis-server and redis-cli, but redis-server and redis-cli are not on PATH');
});

/** The launcher's child processes still running (services, cluster nodes). */
function stillRunning(parent: number | undefined): { pid: number; args: string }[] {
  if (parent === undefined) return [];
  const listed = spawnSync('ps', ['-o', 'pid=,args=', '--ppid', String(parent)], { encoding: 'utf8' }).stdout ?? '';
  return listed
    .split('\n')
    .map((line) => /^\s*(\d+)\s+(.*)$/.exec(line))
    .filter((match): match is RegExpExecArray => match !== null)
    .map((match) => ({ pid: Number(match[1]), args: match[2]! }));
}

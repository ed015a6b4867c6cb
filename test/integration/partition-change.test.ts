/**
 * Changing STREAM_PARTITIONS: the count is recorded at first start, a service with another
 * count refuses to start, and `nodeagg partitions set N` moves the data so that every view
 * answers exactly as before (4 -> 8 -> 4, 520 nodes with processes), with nothing stranded.
 */
import { startIngest, type RunningIngest } from '../../ingest/server';
import { loadConfig } from '../../shared/config';
import { partitionOf } from '../../shared/partition';
import { allPartitionKeys } from '../../shared/store/keys';
import type { RedisClient } from '../../shared/redis';
import { startWorker, type RunningWorker } from '../../worker/server';
import { fleetTotals, scanKeys, type Totals } from '../support/aggregate-totals';
import { processSampleCount } from '../support/process-totals';
import { TcpProxy } from '../support/tcp-proxy';
import { waitForDrained } from '../support/stream-drain';
import { baseTime } from '../support/build-sample';
import { postJson, request } from '../support/fetch-json';
import { runCli, startCli, waitFor } from '../support/run-cli';
import { deletePrefix, quietLogger, testEnv, testRedis } from '../support/test-config';
import { waitUntil } from '../support/wait-until';

const NODES = 520;
const PROCESSES = 12;

interface Running {
  ingest: RunningIngest;
  worker: RunningWorker;
  stop(): Promise<void>;
}

async function start(env: Record<string, string>, partitions: number): Promise<Running> {
  const config = loadConfig({ ...env, STREAM_PARTITIONS: String(partitions) });
  const ingest = await startIngest(config, quietLogger);
  const worker = await startWorker(config, quietLogger);
  return { ingest, worker, stop: async () => (await worker.close(), await ingest.close()) };
}

async function getJson(url: string): Promise<unknown> {
  const response = await request(url);
  expect({ url, status: response.status }).toEqual({ url, status: 200 });
  return response.body;
}

/** Every node row (following pages when the API pages), sorted by name. */
async function allNodes(url: string): Promise<{ name: string }[]> {
  const rows: { name: string }[] = [];
  let next: string | null = '/v1/nodes?limit=1000';
  while (next) {
    const body = (await getJson(`${url}${next}`)) as { nodes: { name: string }[]; next?: string | null };
    rows.push(...body.nodes);
    next = body.next ?? null;
  }
  return rows;
}

/** What a client sees: node list, each node's detail, fleet and process averages. */
async function snapshot(url: string, nodes: string[], processes: string[]): Promise<Record<string, unknown>> {
  const view: Record<string, unknown> = {};
  view.nodes = await allNodes(url);
  for (const node of nodes) view[`node ${node}`] = await getJson(`${url}/v1/nodes/${node}`);
  for (const q of [60, 600, 3600, 86400]) {
    view[`average ${q}`] = await getJson(`${url}/v1/analytics/nodes/average?timeslice=${q}`);
    view[`processes ${q}`] = await getJson(`${url}/v1/analytics/processes?timeslice=${q}`);
    for (const p of processes) view[`process ${p} ${q}`] = await getJson(`${url}/v1/analytics/processes/${p}?timeslice=${q}`);
  }
  return view;
}

interface NodeItem {
  node: string;
  at: number;
  timeslice: number;
  cpu: number;
  mem: number;
}
interface ProcessItem {
  node: string;
  process: string;
  at: number;
  timeslice: number;
  cpu_used: number;
  mem_used: number;
}

/** Three node samples and two samples of each of three processes per node. */
function samplesOf(nodes: readonly string[], processes: readonly string[]): (NodeItem | ProcessItem)[] {
  const t = baseTime();
  const items: (NodeItem | ProcessItem)[] = [];
  nodes.forEach((node, i) => {
    for (let k = 0; k < 3; k++)
      items.push({ node, at: t - k * 7000 - (i % 50) * 1000, timeslice: 5, cpu: (i * 7 + k) % 100, mem: (i * 3 + k) % 100 });
    for (let j = 0; j < 3; j++) {
      const process = processes[(i + j * 5) % processes.length]!;
      for (let k = 0; k < 2; k++) {
        items.push({
          node,
          process,
          at: t - k * 11_000 - (i % 40) * 1000,
          timeslice: 10,
          cpu_used: (i + j + k) % 300,
          mem_used: 100 + i + k,
        });
      }
    }
  });
  return items;
}

async function postAll(url: string, items: readonly unknown[]): Promise<void> {
  for (let i = 0; i < items.length; i += 2000) {
    const response = await postJson(`${url}/v1/samples`, items.slice(i, i + 2000));
    expect(response.status).toBe(202);
  }
}

/** What the buckets must hold, summed from the samples sent: every sample counted once. */
function expectedTotals(items: readonly (NodeItem | ProcessItem)[]): { fleet: Totals; processSamples: number } {
  const fleet: Totals = { samples: 0, cpuSeconds: 0, memSeconds: 0 };
  let processSamples = 0;
  for (const item of items) {
    if ('process' in item) processSamples += 1;
    else {
      fleet.samples += 1;
      fleet.cpuSeconds += item.cpu * item.timeslice;
      fleet.memSeconds += item.mem * item.timeslice;
    }
  }
  return { fleet, processSamples };
}

/** What the buckets hold, summed over every partition of `partitions`. */
async function storedTotals(redis: RedisClient, prefix: string, partitions: number): Promise<{ fleet: Totals; processSamples: number }> {
  return { fleet: await fleetTotals(redis, prefix, partitions), processSamples: await processSampleCount(redis, prefix, partitions) };
}

/**
 * Every per-node key lives in its node's partition under `partitions`, and the old partitions
 * (other hash tags) keep nothing but their meta hash (a tombstone) and consumer heartbeats.
 */
async function auditLayout(redis: RedisClient, prefix: string, partitions: number): Promise<string[]> {
  const problems: string[] = [];
  const current = new Map(allPartitionKeys(prefix, partitions).map((keys) => [keys.tag, keys.partition]));
  for (const key of await scanKeys(redis, `${prefix}:*`)) {
    const match = /^[^:]+:\{(p\d+of\d+(?:-\d+)?)\}:(.*)$/.exec(key); // partition keys (not the queue library's)
    if (!match) continue;
    const partition = current.get(match[1]!);
    const name = match[2]!;
    if (partition === undefined) {
      if (name !== 'meta' && !name.startsWith('alive:')) problems.push(`stranded: ${key}`);
      continue;
    }
    const node = /^node:(?:sum|procs):(.+)$/.exec(name)?.[1] ?? /^node:s:\d+:(.+)$/.exec(name)?.[1];
    if (node !== undefined && partitionOf(node, partitions) !== partition) problems.push(`misrouted: ${key}`);
    if (name === 'nodes' || name === 'nodes:lex' || name.startsWith('proc:nodes:')) {
      for (const member of await redis.zrange(key, 0, -1)) {
        if (partitionOf(member, partitions) !== partition) problems.push(`misrouted member ${member} of ${key}`);
      }
    }
  }
  return problems;
}

describe('changing the partition count', () => {
  const env = testEnv({ WORKER_BLOCK_MS: '100', CONSUMER_EXPIRY_MS: '600000' });
  const cliEnvironment = { REDIS_URL: env.REDIS_URL!, KEY_PREFIX: env.KEY_PREFIX!, LOG_LEVEL: 'silent' };
  let redis: RedisClient;
  const nodes = Array.from({ length: NODES }, (_, i) => `pc-${i}.example:web`);
  const processes = Array.from({ length: PROCESSES }, (_, i) => `proc-${i}`);
  let posted = 0;

  beforeAll(async () => {
    redis = testRedis(loadConfig(env));
    await redis.connect();
  });
  afterAll(async () => {
    await deletePrefix(redis, env.KEY_PREFIX!);
    await redis.quit();
  });

  test('4 -> 6 -> 3 -> 8 -> 4 keeps every view and every total exact, nothing lost, doubled or stranded', async () => {
    let services: Running | undefined = await start(env, 4);
    let oldWorker: RunningWorker | undefined;
    try {
      await changeBackAndForth();
    } finally {
      await oldWorker?.close();
      await services?.stop();
    }
    async function changeBackAndForth(): Promise<void> {
      const items = samplesOf(nodes, processes);
      await postAll(services!.ingest.url, items);
      posted = items.length;
      await waitForDrained(redis, env.KEY_PREFIX!, 4, 'aggregators', 60_000);
      const before = await snapshot(services!.ingest.url, nodes, processes);
      expect((before.nodes as unknown[]).length).toBe(NODES);
      const totals = expectedTotals(items);
      expect(await storedTotals(redis, env.KEY_PREFIX!, 4)).toEqual(totals);
      await services!.stop();
      services = undefined;

      // A service with another count refuses to start, naming both counts.
      await expect(start(env, 8)).rejects.toThrow(/STREAM_PARTITIONS is 8.*written with 4 partitions/);

      // Grow, shrink, grow, and back to 4, whose tags (and tombstones) the data held before.
      for (const [from, to] of [
        [4, 6],
        [6, 3],
        [3, 8],
        [8, 4],
      ] as const) {
        // As in the runbook, workers with the old count keep running (they drain) until restarted.
        oldWorker = await startWorker(loadConfig({ ...env, STREAM_PARTITIONS: String(from) }), quietLogger);
        const cli = await runCli(['partitions', 'set', String(to)], cliEnvironment, 120_000);
        expect({ code: cli.code, stderr: cli.stderr }).toEqual({ code: 0, stderr: '' });
        expect(cli.stdout).toContain(`Done: ${to} partitions recorded`);
        await expect(start(env, from)).rejects.toThrow(new RegExp(`STREAM_PARTITIONS is ${from}.*written with ${to} partitions`));
        // Restarted with the new count: the old worker stops (left running, it would keep the test process alive).
        await oldWorker.close();
        oldWorker = undefined;
        services = await start(env, to);
        const after = await snapshot(services.ingest.url, nodes, processes);
        expect(after).toEqual(before);
        expect(await auditLayout(redis, env.KEY_PREFIX!, to)).toEqual([]);
        expect(await storedTotals(redis, env.KEY_PREFIX!, to)).toEqual(totals);
        await services.stop();
        services = undefined;
      }
      expect(posted).toBe(NODES * 9);
    }
  }, 300_000);

  test('a change killed right after merging a bucket, before deleting its source, finishes on a re-run with every total exact', async () => {
    const own = testEnv({ WORKER_BLOCK_MS: '100' });
    const ownCli = { ...cliEnvironment, KEY_PREFIX: own.KEY_PREFIX! };
    const few = nodes.slice(0, 120);
    const proxy = await TcpProxy.start(Number(new URL(own.REDIS_URL!).port));
    try {
      const services = await start(own, 4);
      const items = samplesOf(few, processes);
      await postAll(services.ingest.url, items);
      await waitForDrained(redis, own.KEY_PREFIX!, 4, 'aggregators', 60_000);
      const before = await snapshot(services.ingest.url, few, processes);
      await services.stop();

      // The first DEL of an old partition's fleet bucket hash follows its merge (merge-buckets.lua):
      // the network is cut before it reaches Redis and the command is killed.
      const bucketDelete = /\*2\r\n\$3\r\ndel\r\n\$\d+\r\n[^\r\n]*\{p\d+of4[^}]*\}:fleet:s:/i;
      const cut = proxy.cutOnCommand(bucketDelete, 'refuse');
      const change = startCli(['partitions', 'set', '6'], { ...ownCli, REDIS_URL: proxy.url });
      await Promise.race([cut.fired, change.exited]);
      expect(cut.hasFired).toBe(true);
      change.child.kill('SIGKILL');
      await change.exited;
      const show = JSON.parse((await runCli(['partitions', 'show', '--json'], ownCli)).stdout) as { recorded: number; change: unknown };
      expect(show).toEqual({ recorded: 4, change: { from: 4, to: 6, started_at: expect.any(String) } });
      // The merged source is still there, so its samples are in old and new partitions at once:
      // without the merge marker a re-run would count them twice.
      const [old, moved] = [await fleetTotals(redis, own.KEY_PREFIX!, 4), await fleetTotals(redis, own.KEY_PREFIX!, 6)];
      expect(old.samples + moved.samples).toBeGreaterThan(expectedTotals(items).fleet.samples);

      const otherCount = await runCli(['partitions', 'set', '3'], ownCli);
      expect({ code: otherCount.code, stderr: otherCount.stderr }).toEqual({
        code: 1,
        stderr: expect.stringMatching(/A change from 4 to 6 partitions is unfinished; run "nodeagg partitions set 6" first/),
      });
      const rerun = await runCli(['partitions', 'set', '6'], ownCli, 120_000);
      expect({ code: rerun.code, stderr: rerun.stderr }).toEqual({ code: 0, stderr: '' });
      expect(rerun.stdout).toMatch(/Resuming the change from 4 to 6 partitions[\s\S]*Done: 6 partitions recorded/);

      expect(await storedTotals(redis, own.KEY_PREFIX!, 6)).toEqual(expectedTotals(items));
      expect(await auditLayout(redis, own.KEY_PREFIX!, 6)).toEqual([]);
      const restarted = await start(own, 6);
      try {
        expect(await snapshot(restarted.ingest.url, few, processes)).toEqual(before);
      } finally {
        await restarted.stop();
      }
    } finally {
      await proxy.close();
      await deletePrefix(redis, own.KEY_PREFIX!);
    }
  }, 120_000);

  test('ingest answers 503 with Retry-After while the change waits for the streams to drain, and a stale instance is refused after it', async () => {
    const ingest = await startIngest(loadConfig({ ...env, STREAM_PARTITIONS: '4' }), quietLogger);
    try {
      // No worker: what is posted now stays undelivered, so the change waits for a drain.
      const node = nodes[0]!;
      expect((await postJson(`${ingest.url}/v1/metrics/node/${node}`, { timeslice: 1, cpu: 1, mem: 1 })).status).toBe(202);
      const change = startCli(['partitions', 'set', '8', '--drain-timeout', '2m'], cliEnvironment);
      await waitFor(() => change.stdout().includes('Waiting until every stream is drained'), 30_000, 'the change to wait for the drain');
      const paused = await postJson(`${ingest.url}/v1/metrics/node/${node}`, { timeslice: 1, cpu: 1, mem: 1 });
      expect(paused.status).toBe(503);
      expect(paused.body.error.code).toBe('PARTITION_CHANGE_IN_PROGRESS');
      expect(Number(paused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      // The workers drain the streams; the change finishes.
      const worker = await startWorker(loadConfig({ ...env, STREAM_PARTITIONS: '4' }), quietLogger);
      expect(await change.exited).toBe(0);
      await worker.close();
      // The old instance routes with 4: refused until restarted with 8 (whether its background read saw it yet or not).
      await waitUntil(async () => {
        const stale = await postJson(`${ingest.url}/v1/metrics/node/${node}`, { timeslice: 1, cpu: 1, mem: 1 });
        return (
          stale.status === 503 &&
          stale.body.error.code === 'PARTITION_COUNT_CHANGED' &&
          /STREAM_PARTITIONS=8/.test(stale.body.error.message)
        );
      });
    } finally {
      await ingest.close();
    }
    const services = await start(env, 8);
    try {
      expect((await postJson(`${services.ingest.url}/v1/metrics/node/${nodes[0]}`, { timeslice: 1, cpu: 1, mem: 1 })).status).toBe(202);
      await waitForDrained(redis, env.KEY_PREFIX!, 8, 'aggregators', 30_000);
      expect(await auditLayout(redis, env.KEY_PREFIX!, 8)).toEqual([]);
    } finally {
      await services.stop();
    }
  }, 120_000);
});

/**
 * Changing STREAM_PARTITIONS: the count is recorded at first start, a service with another
 * count refuses to start, and `nodeagg partitions set N` moves the data so that every view
 * answers exactly as before, with nothing stranded. A partition's hash tag depends on the
 * count, so on a Redis Cluster every key changes slot (and mostly master) at each change;
 * the pipeline view then names the new partitions' masters.
 */
import { startIngest, type RunningIngest } from '../../ingest/server';
import { loadConfig } from '../../shared/config';
import { partitionOf } from '../../shared/partition';
import { allPartitionKeys, nodeOfSecondField } from '../../shared/store/keys';
import { slotOfKey } from '../../shared/store/partition-tag';
import { isCluster, type RedisClient } from '../../shared/redis';
import { startWorker, type RunningWorker } from '../../worker/server';
import { fleetTotals, scanKeys, type Totals } from '../support/aggregate-totals';
import { processSampleCount } from '../support/process-totals';
import { TcpProxy } from '../support/tcp-proxy';
import { waitForDrained } from '../support/stream-drain';
import { baseTime } from '../support/build-sample';
import { postJson, request } from '../support/fetch-json';
import { runCli, startCli, waitFor, type RunningCli } from '../support/run-cli';
import { deletePrefix, quietLogger, testEnv, testRedis } from '../support/test-config';
import { waitUntil } from '../support/wait-until';
import type { RawNodeSample, RawProcessSample } from '../support/reference-model';

export interface PartitionChangeOptions {
  /** The counts the data goes through, the first being the services' first count. */
  counts: readonly number[];
  /** Nodes of the fleet (each with 3 node samples and 6 process samples). */
  nodes: number;
  /**
   * How the interrupted change is broken: on one Redis a proxy cuts the network at the first
   * delete of a merged bucket's source, then the command is killed; a cluster client talks
   * to every master directly (no proxy in between), so there the command is killed as soon
   * as it says it is moving the data.
   */
  interruption: 'network-cut-at-bucket-delete' | 'killed-while-moving';
}

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

function samplesOf(nodes: readonly string[], processes: readonly string[]): (RawNodeSample | RawProcessSample)[] {
  const t = baseTime();
  const items: (RawNodeSample | RawProcessSample)[] = [];
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

const CHUNK = 2000;

/** Posts the items in batches, each with its own Idempotency-Key (`batch-<first item>`). */
async function postAll(url: string, items: readonly unknown[]): Promise<void> {
  for (let i = 0; i < items.length; i += CHUNK) {
    const response = await postJson(`${url}/v1/samples`, items.slice(i, i + CHUNK), { 'Idempotency-Key': `batch-${i}` });
    expect(response.status).toBe(202);
  }
}

/**
 * A client retrying the first batch after the change (its answer was lost, say): the request
 * is routed with the new count, every new partition holds its Idempotency-Key record, so it
 * is answered as stored and nothing is appended again.
 */
async function expectFirstBatchReplayed(url: string, items: readonly unknown[]): Promise<void> {
  const retry = await postJson(`${url}/v1/samples`, items.slice(0, CHUNK), { 'Idempotency-Key': 'batch-0' });
  expect({ status: retry.status, replayed: retry.headers.get('idempotent-replayed') }).toEqual({ status: 202, replayed: 'true' });
}

/** What the buckets must hold, summed from the samples sent: every sample counted once. */
function expectedTotals(items: readonly (RawNodeSample | RawProcessSample)[]): { fleet: Totals; processSamples: number } {
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
    const node = /^node:procs:(.+)$/.exec(name)?.[1];
    if (node !== undefined && partitionOf(node, partitions) !== partition) problems.push(`misrouted: ${key}`);
    // Hashes with a field per node: the summaries ('' is their marker) and each minute's seconds (their expiry record is no node's).
    const nodeOfField =
      name === 'nodes:sum' ? (field: string) => field || undefined : name.startsWith('nodes:s:') ? nodeOfSecondField : undefined;
    if (nodeOfField !== undefined) {
      for (const field of await redis.hkeys(key)) {
        const owner = nodeOfField(field);
        if (owner !== undefined && partitionOf(owner, partitions) !== partition) problems.push(`misrouted field ${field} of ${key}`);
      }
    }
    // Keys that expire as a whole keep an expiry through a move.
    if (nodeOfField !== undefined || name.startsWith('proc:nodes:')) {
      if ((await redis.pttl(key)) < 0) problems.push(`no expiry: ${key}`);
    }
    if (name === 'nodes' || name === 'nodes:lex' || name.startsWith('proc:nodes:')) {
      for (const member of await redis.zrange(key, 0, -1)) {
        if (partitionOf(member, partitions) !== partition) problems.push(`misrouted member ${member} of ${key}`);
      }
    }
  }
  return problems;
}

type SlotRange = [start: number, end: number, master: [host: string, port: number, id: string, ...unknown[]], ...unknown[]];

/**
 * /v1/pipeline names, for each partition of `partitions`, the master serving its stream's
 * slot now (CLUSTER SLOTS, asked here), and a count that is a multiple of the masters spreads
 * evenly over them; on one Redis every shard is null.
 */
async function expectShardsOfPartitions(url: string, redis: RedisClient, prefix: string, partitions: number): Promise<void> {
  const view = (await getJson(`${url}/v1/pipeline`)) as { partitions: { stream: string; shard: unknown }[] };
  const streams = allPartitionKeys(prefix, partitions).map((keys) => keys.stream);
  expect(view.partitions.map((p) => p.stream)).toEqual(streams);
  if (!isCluster(redis)) {
    expect(view.partitions.map((p) => p.shard)).toEqual(streams.map(() => null));
    return;
  }
  const ranges = (await redis.call('CLUSTER', 'SLOTS')) as SlotRange[];
  const expected = streams.map((stream) => {
    const slot = slotOfKey(stream);
    const [host, port, id] = ranges.find(([first, last]) => slot >= first && slot <= last)![2];
    return { address: `${host}:${port}`, node_id: id, slot };
  });
  expect(view.partitions.map((p) => p.shard)).toEqual(expected);
  const masters = new Set(ranges.map((range) => range[2][2]));
  if (partitions % masters.size === 0) {
    const perMaster = [...masters].map((id) => expected.filter((shard) => shard.node_id === id).length);
    expect(perMaster).toEqual([...masters].map(() => partitions / masters.size));
  }
}

/** Runs against the suite's Redis, or the cluster of a test in test/cluster/ (testEnv). */
export function partitionChangeScenarios(options: PartitionChangeOptions): void {
  const [first, ...later] = options.counts;
  if (first === undefined || later.length === 0) throw new Error('a partition change needs at least two counts');
  const last = later[later.length - 1]!;

  describe('changing the partition count', () => {
    // Made in beforeAll: a cluster test sets REDIS_CLUSTER_NODES in its own beforeAll first.
    let env: Record<string, string>;
    let cliEnvironment: Record<string, string>;
    let redis: RedisClient;
    const nodes = Array.from({ length: options.nodes }, (_, i) => `pc-${i}.example:web`);
    const processes = Array.from({ length: PROCESSES }, (_, i) => `proc-${i}`);

    beforeAll(async () => {
      env = testEnv({ WORKER_BLOCK_MS: '100', CONSUMER_EXPIRY_MS: '600000' });
      cliEnvironment = {
        REDIS_URL: env.REDIS_URL!,
        REDIS_CLUSTER_NODES: env.REDIS_CLUSTER_NODES!,
        KEY_PREFIX: env.KEY_PREFIX!,
        LOG_LEVEL: 'silent',
      };
      redis = testRedis(loadConfig(env));
      await redis.connect();
    });
    afterAll(async () => {
      await deletePrefix(redis, env.KEY_PREFIX!);
      await redis.quit();
    });

    test(`${options.counts.join(' -> ')} keeps every view and every total exact, nothing lost, doubled or stranded, a keyed retry answered as stored; the pipeline view names the new partitions' shards`, async () => {
      let services: Running | undefined = await start(env, first);
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
        await waitForDrained(redis, env.KEY_PREFIX!, first!, 'aggregators', 60_000);
        const before = await snapshot(services!.ingest.url, nodes, processes);
        expect((before.nodes as unknown[]).length).toBe(options.nodes);
        const totals = expectedTotals(items);
        expect(await storedTotals(redis, env.KEY_PREFIX!, first!)).toEqual(totals);
        await expectShardsOfPartitions(services!.ingest.url, redis, env.KEY_PREFIX!, first!);
        await services!.stop();
        services = undefined;

        // A service with another count refuses to start, naming both counts.
        await expect(start(env, first! * 2)).rejects.toThrow(
          new RegExp(`STREAM_PARTITIONS is ${first! * 2}.*written with ${first} partitions`),
        );

        let from = first!;
        for (const to of later) {
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
          await expectFirstBatchReplayed(services.ingest.url, items);
          const after = await snapshot(services.ingest.url, nodes, processes);
          expect(after).toEqual(before);
          expect(await auditLayout(redis, env.KEY_PREFIX!, to)).toEqual([]);
          expect(await storedTotals(redis, env.KEY_PREFIX!, to)).toEqual(totals);
          await expectShardsOfPartitions(services.ingest.url, redis, env.KEY_PREFIX!, to);
          await services.stop();
          services = undefined;
          from = to;
        }
      }
    }, 300_000);

    /**
     * Where the network is cut on one Redis (the command is then killed): right after a bucket
     * merge, before the delete of its source; and at the first expiry a moved per-node sorted set
     * gets, which must come before its source loses the members (a re-run finds no source then).
     */
    const cuts: { label: string; command: RegExp | undefined; merged: boolean }[] =
      options.interruption === 'network-cut-at-bucket-delete'
        ? [
            {
              label: 'cut right after merging a bucket, before deleting its source,',
              command: /\*2\r\n\$3\r\ndel\r\n\$\d+\r\n[^\r\n]*\{p\d+of4[^}]*\}:fleet:s:/i,
              merged: true,
            },
            {
              // The nodes of a process only one node runs: no other old partition's set moves into its new set.
              label: 'cut as a moved sorted set gets its expiry',
              command: /\*4\r\n\$7\r\npexpire\r\n\$\d+\r\n[^\r\n]*\{p\d+of6[^}]*\}:proc:nodes:solo\r\n/i,
              merged: false,
            },
          ]
        : [{ label: 'killed while moving the data', command: undefined, merged: false }];
    test.each(cuts)(
      'a change $label finishes on a re-run with every total exact',
      async (cutAt) => {
        const own = testEnv({ WORKER_BLOCK_MS: '100' });
        const ownCli = { ...cliEnvironment, KEY_PREFIX: own.KEY_PREFIX! };
        const few = nodes.slice(0, 120);
        const proxy = cutAt.command ? await TcpProxy.start(Number(new URL(own.REDIS_URL!).port)) : undefined;
        try {
          const services = await start(own, 4);
          const items: (RawNodeSample | RawProcessSample)[] = [
            ...samplesOf(few, processes),
            { node: few[0]!, process: 'solo', at: baseTime(), timeslice: 10, cpu_used: 1, mem_used: 1 },
          ];
          await postAll(services.ingest.url, items);
          await waitForDrained(redis, own.KEY_PREFIX!, 4, 'aggregators', 60_000);
          const before = await snapshot(services.ingest.url, few, processes);
          await services.stop();

          let change: RunningCli;
          if (proxy && cutAt.command) {
            // The network is cut before the command reaches Redis, and the change is killed.
            const cut = proxy.cutOnCommand(cutAt.command, 'refuse');
            change = startCli(['partitions', 'set', '6'], { ...ownCli, REDIS_URL: proxy.url });
            await Promise.race([cut.fired, change.exited]);
            expect(cut.hasFired).toBe(true);
          } else {
            change = startCli(['partitions', 'set', '6'], ownCli);
            await waitFor(() => change.stdout().includes('Moving the per-partition state'), 30_000, 'the change to start moving');
          }
          change.child.kill('SIGKILL');
          await change.exited;
          const show = JSON.parse((await runCli(['partitions', 'show', '--json'], ownCli)).stdout) as { recorded: number; change: unknown };
          expect(show).toEqual({ recorded: 4, change: { from: 4, to: 6, started_at: expect.any(String) } });
          if (cutAt.merged) {
            // The merged source is still there, so its samples are in old and new partitions at once:
            // without the merge marker a re-run would count them twice.
            const [old, moved] = [await fleetTotals(redis, own.KEY_PREFIX!, 4), await fleetTotals(redis, own.KEY_PREFIX!, 6)];
            expect(old.samples + moved.samples).toBeGreaterThan(expectedTotals(items).fleet.samples);
          }

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
          await proxy?.close();
          await deletePrefix(redis, own.KEY_PREFIX!);
        }
      },
      120_000,
    );

    test('ingest answers 503 with Retry-After while the change waits for the streams to drain, and a stale instance is refused after it', async () => {
      const grown = last * 2;
      const ingest = await startIngest(loadConfig({ ...env, STREAM_PARTITIONS: String(last) }), quietLogger);
      try {
        // No worker: what is posted now stays undelivered, so the change waits for a drain.
        const node = nodes[0]!;
        expect((await postJson(`${ingest.url}/v1/metrics/node/${node}`, { timeslice: 1, cpu: 1, mem: 1 })).status).toBe(202);
        const change = startCli(['partitions', 'set', String(grown), '--drain-timeout', '2m'], cliEnvironment);
        await waitFor(() => change.stdout().includes('Waiting until every stream is drained'), 30_000, 'the change to wait for the drain');
        const paused = await postJson(`${ingest.url}/v1/metrics/node/${node}`, { timeslice: 1, cpu: 1, mem: 1 });
        expect(paused.status).toBe(503);
        expect(paused.body.error.code).toBe('PARTITION_CHANGE_IN_PROGRESS');
        expect(Number(paused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
        // The workers drain the streams; the change finishes.
        const worker = await startWorker(loadConfig({ ...env, STREAM_PARTITIONS: String(last) }), quietLogger);
        expect(await change.exited).toBe(0);
        await worker.close();
        // The old instance routes with the old count: refused until restarted with the new one (whether its background read saw it yet or not).
        await waitUntil(async () => {
          const stale = await postJson(`${ingest.url}/v1/metrics/node/${node}`, { timeslice: 1, cpu: 1, mem: 1 });
          return (
            stale.status === 503 &&
            stale.body.error.code === 'PARTITION_COUNT_CHANGED' &&
            new RegExp(`STREAM_PARTITIONS=${grown}`).test(stale.body.error.message)
          );
        });
      } finally {
        await ingest.close();
      }
      const services = await start(env, grown);
      try {
        expect((await postJson(`${services.ingest.url}/v1/metrics/node/${nodes[0]}`, { timeslice: 1, cpu: 1, mem: 1 })).status).toBe(202);
        await waitForDrained(redis, env.KEY_PREFIX!, grown, 'aggregators', 30_000);
        expect(await auditLayout(redis, env.KEY_PREFIX!, grown)).toEqual([]);
      } finally {
        await services.stop();
      }
    }, 120_000);
  });
}

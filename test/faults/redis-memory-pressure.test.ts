// Redis at maxmemory with noeviction (as k8s/redis.yaml sets): the pipeline degrades, never stalls.
import { randomBytes } from 'node:crypto';
import { loadConfig } from '../../shared/config';
import { startPrivateRedis, type PrivateRedis } from '../../launcher/private-redis';
import { createRedisClient, type RedisClient } from '../../shared/redis';
import { partitionKeys } from '../../shared/store/keys';
import { fleetTotals } from '../support/aggregate-totals';
import { waitForDrained } from '../support/stream-drain';
import { baseTime } from '../support/build-sample';
import { Cleanup } from '../support/cleanup';
import { send } from '../support/http-outcomes';
import { startIngestProcess, startWorkerProcess, type ServiceProcess } from '../support/service-processes';

const PARTITIONS = 2;
const MAXMEMORY = 16 * 1024 * 1024;
const BATCH = 2000;

/** Counts the log lines a service writes from now on. */
function countLines(service: ServiceProcess): { lines: number } {
  const counter = { lines: 0 };
  const count = (chunk: Buffer) => {
    for (const byte of chunk) if (byte === 10) counter.lines += 1;
  };
  service.child.stdout?.on('data', count);
  service.child.stderr?.on('data', count);
  return counter;
}

async function gauge(url: string, name: string): Promise<number | undefined> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.split(' ')[1]);
}

async function streamLengths(redis: RedisClient, prefix: string): Promise<number> {
  let total = 0;
  for (let p = 0; p < PARTITIONS; p++) total += await redis.xlen(partitionKeys(prefix, p, PARTITIONS).stream);
  return total;
}

describe('Redis out of memory', () => {
  let redisServer: PrivateRedis;
  let admin: RedisClient;
  const cleanup = new Cleanup();

  beforeAll(async () => {
    redisServer = await startPrivateRedis({ extraArgs: ['--maxmemory', String(MAXMEMORY), '--maxmemory-policy', 'noeviction'] });
  });
  afterEach(() => cleanup.run());
  afterAll(() => redisServer.destroy());

  test('ingest answers 503 REDIS_OUT_OF_MEMORY, readiness stays up, a new worker starts, logs stay quiet, and everything accepted is applied once memory frees', async () => {
    const env = {
      REDIS_URL: redisServer.url,
      KEY_PREFIX: `oom${randomBytes(3).toString('hex')}`,
      STREAM_PARTITIONS: String(PARTITIONS),
      WORKER_BLOCK_MS: '200',
      // Each retry under pressure re-folds one read: keep it modest on a shared machine.
      WORKER_BATCH_SIZE: '20',
      // No trimming while filling: memory only grows until the operator acts.
      MAINTENANCE_INTERVAL_MS: '3600000',
      LOG_LEVEL: 'info',
    };
    admin = createRedisClient(loadConfig(env), { connectionName: 'test-admin' });
    await admin.connect();
    cleanup.add(() => admin.quit());
    const ingest = await startIngestProcess(env);
    cleanup.add(() => ingest.kill());
    const workerA = await startWorkerProcess(env, 'worker-a');
    cleanup.add(() => workerA.kill());
    const ingestLines = countLines(ingest);
    const workerALines = countLines(workerA);

    const linesBefore = { ingest: ingestLines.lines, workerA: workerALines.lines };
    // Fill Redis until ingest refuses for memory (a hundred nodes: the memory is the streams').
    const t = baseTime();
    let accepted = 0;
    let refusal: Awaited<ReturnType<typeof send>> | undefined;
    for (let post = 0; post < 400 && refusal === undefined; post++) {
      const items = Array.from({ length: BATCH }, (_, i) => ({
        node: `mem-${i % 100}`,
        at: t - (i % 600) * 1000,
        timeslice: 1,
        cpu: 10,
        mem: 20,
      }));
      const outcome = await send(`${ingest.url}/v1/samples`, { method: 'POST', body: items, timeoutMs: 15_000 });
      if (outcome.kind === 'response' && outcome.status === 202) accepted += BATCH;
      else refusal = outcome;
    }
    expect(refusal).toMatchObject({ kind: 'response', status: 503, body: { error: { code: 'REDIS_OUT_OF_MEMORY' } } });
    if (refusal?.kind !== 'response') throw new Error('unreachable');
    expect(String((refusal.body as { error: { message: string } }).error.message)).toMatch(/out of memory/i);
    expect(Number(refusal.headers['retry-after'])).toBeGreaterThanOrEqual(1);

    // Pin the limit just under the current use, so that small writes are refused too
    // (otherwise a one-sample post may still fit in what a refused batch left free).
    const used = Number(/used_memory:(\d+)/.exec(await admin.info('memory'))![1]);
    const limit = used - 256 * 1024;
    await admin.config('SET', 'maxmemory', String(limit));
    // A refused request appends nothing.
    const before = await streamLengths(admin, env.KEY_PREFIX);
    const again = await send(`${ingest.url}/v1/metrics/node/one-more`, { method: 'POST', body: { timeslice: 1, cpu: 1, mem: 1 } });
    expect(again).toMatchObject({ kind: 'response', status: 503, body: { error: { code: 'REDIS_OUT_OF_MEMORY' } } });
    expect(await streamLengths(admin, env.KEY_PREFIX)).toBe(before);

    // Readiness never writes: ingest stays in the Service. A new worker starts and stays up.
    expect(await send(`${ingest.url}/readyz`, { timeoutMs: 15_000 })).toMatchObject({ kind: 'response', status: 200 });
    const workerB = await startWorkerProcess(env, 'worker-b');
    cleanup.add(() => workerB.kill());
    const workerBLines = countLines(workerB);
    // Six more seconds under memory pressure, with clients still knocking.
    for (let i = 0; i < 30; i++) {
      const knock = await send(`${ingest.url}/v1/metrics/node/knock`, { method: 'POST', body: { timeslice: 1, cpu: 1, mem: 1 } });
      expect(knock).toMatchObject({ kind: 'response', status: 503 });
      await new Promise((r) => setTimeout(r, 200));
    }
    for (const service of [ingest, workerA, workerB]) {
      expect({ role: service.role, running: service.running }).toEqual({ role: service.role, running: true });
      const ready = await send(`${service.url}/readyz`, { timeoutMs: 20_000 });
      expect({ role: service.role, ready }).toMatchObject({ role: service.role, ready: { kind: 'response', status: 200 } });
    }
    // Repeated warnings are rate-limited: a few lines, not thousands.
    // Counted from the fill on (worker B: from its start, under pressure).
    const logLines = {
      ingest: ingestLines.lines - linesBefore.ingest,
      workerA: workerALines.lines - linesBefore.workerA,
      workerB: workerBLines.lines,
    };
    expect(Math.max(...Object.values(logLines))).toBeLessThanOrEqual(10);
    for (const url of [ingest.url, workerB.url]) {
      expect(await gauge(url, 'nodeagg_redis_maxmemory_bytes')).toBe(limit);
      expect(await gauge(url, 'nodeagg_redis_used_memory_bytes')).toBeGreaterThan(limit * 0.9);
    }

    // The operator raises the limit (docs/RUNBOOK.md): the running workers apply everything at once.
    await admin.config('SET', 'maxmemory', String(256 * 1024 * 1024));
    await waitForDrained(admin, env.KEY_PREFIX, PARTITIONS, 'aggregators', 60_000).catch(async (error: Error) => {
      const groups = await admin.xinfo('GROUPS', partitionKeys(env.KEY_PREFIX, 0, PARTITIONS).stream);
      throw new Error(`${error.message}\n${JSON.stringify(groups)}\n${workerA.output()}\n${workerB.output()}`);
    });
    expect((await fleetTotals(admin, env.KEY_PREFIX, PARTITIONS)).samples).toBe(accepted);
    // Only now does trimming free the stream memory (applied entries are trimmed, never before).
    expect(await send(`${ingest.url}/v1/metrics/node/after`, { method: 'POST', body: { timeslice: 1, cpu: 1, mem: 1 } })).toMatchObject({
      kind: 'response',
      status: 202,
    });
    process.stdout.write(`[memory] accepted ${accepted} samples before refusals; log lines under pressure: ${JSON.stringify(logLines)}\n`);
  }, 240_000);
});

// The network between a worker and Redis is cut at each step of a batch; the worker heals and every sample is counted once.
import { randomBytes } from 'node:crypto';
import { Agent } from 'node:http';
import { loadConfig } from '../../shared/config';
import { startPrivateRedis, type PrivateRedis } from '../../launcher/private-redis';
import type { RedisClient } from '../../shared/redis';
import { send, waitForStatus, type Outcome } from '../support/http-outcomes';
import { LoadGenerator, nodeNames } from '../support/batch-load-generator';
import { Cleanup } from '../support/cleanup';
import {
  auditStreams,
  connectAdmin,
  connectionsByName,
  isTransactionConnection,
  countAggregates,
  explainUnreported,
  pendingOf,
  sameCounts,
} from '../support/redis-audit';
import { waitForDrained } from '../support/stream-drain';
import { startIngestProcess, startWorkerProcess } from '../support/service-processes';
import { STREAM_ENTRIES_REPLY, TcpProxy, TRANSACTION_APPLIED_REPLY, TRANSACTION_ON_STREAM } from '../support/tcp-proxy';

const PARTITIONS = 4;
const CUT_MS = 1500;
const NODES = nodeNames('cut-host', 48);
/** The worker's apply on one Redis: a MULTI/EXEC acknowledging entries of a partition stream. */
const APPLY_COMMAND = TRANSACTION_ON_STREAM;

interface Fault {
  /** Entries the worker held (delivered, not acknowledged) right after the network went. */
  strandedAtCut: number;
  /** Anything else worth reporting. */
  notes: string[];
}

interface Scenario {
  prefix: string;
  group: string;
  admin: RedisClient;
  proxy: TcpProxy;
  consumer: string;
}

describe('worker network cut from Redis', () => {
  let redisServer: PrivateRedis;
  const cleanup = new Cleanup();
  const agent = new Agent({ keepAlive: true, maxSockets: 8 });

  beforeAll(async () => {
    redisServer = await startPrivateRedis();
  });
  afterEach(() => cleanup.run());
  afterAll(async () => {
    agent.destroy();
    await redisServer.destroy();
  });

  /** Runs ingest (direct) and one worker (through the proxy) under load, applies `fault`, heals, and counts. */
  async function runScenario(label: string, fault: (s: Scenario) => Promise<Fault>): Promise<void> {
    const consumer = `${label}-${randomBytes(2).toString('hex')}`;
    const env = {
      REDIS_URL: redisServer.url,
      KEY_PREFIX: `cut${randomBytes(3).toString('hex')}`,
      STREAM_PARTITIONS: String(PARTITIONS),
      LOG_LEVEL: 'silent',
      REDIS_COMMAND_TIMEOUT_MS: '500',
      WORKER_BLOCK_MS: '200',
      WORKER_BATCH_SIZE: '100',
      // Entries stranded on the worker by the cut are taken over soon after it is back.
      WORKER_CLAIM_IDLE_MS: '500',
      WORKER_CLAIM_INTERVAL_MS: '100',
    };
    const config = loadConfig(env);
    const admin = await connectAdmin(config);
    cleanup.add(() => admin.quit());
    const proxy = await TcpProxy.start(redisServer.port);
    cleanup.add(() => proxy.close());

    const ingest = await startIngestProcess(env);
    cleanup.add(() => ingest.kill());
    const worker = await startWorkerProcess({ ...env, REDIS_URL: proxy.url }, consumer);
    cleanup.add(() => worker.kill());
    // The transaction connections vary with the applies in flight: counted apart.
    const workerConnections = (name: string) => name.startsWith(`worker:${consumer}`) && !isTransactionConnection(name);
    const transactionConnections = async () =>
      [
        ...(await connectionsByName(admin, (name) => name.startsWith(`worker:${consumer}`) && isTransactionConnection(name))).values(),
      ].reduce((sum, n) => sum + n, 0);

    const load = new LoadGenerator({
      url: ingest.url,
      concurrency: 2,
      samplesPerRequest: 40,
      nodes: NODES,
      paceMs: 5,
      timeoutMs: 5000,
      agent,
    });
    load.start();
    cleanup.add(() => load.abort());
    await load.waitFor(() => load.count(202) >= 30, 20_000, '30 accepted requests before the cut');
    const connectionsBefore = await connectionsByName(admin, workerConnections);
    const proxiedBefore = proxy.openConnections;
    // The worker's other proxied connections: read until no transaction connection opened in between.
    let otherProxiedBefore: number;
    for (;;) {
      const transactions = await transactionConnections();
      otherProxiedBefore = proxy.openConnections - transactions;
      if ((await transactionConnections()) === transactions) break;
    }

    const acceptedBefore = proxy.accepted;
    const cutAt = Date.now();
    const outcome = await fault({ prefix: env.KEY_PREFIX, group: config.consumerGroup, admin, proxy, consumer });
    // Cut off, the worker is alive but not ready; ingest talks to Redis directly and keeps accepting.
    const livez: Outcome = await send(`${worker.url}/livez`, { agent: false });
    const readyz: Outcome = await send(`${worker.url}/readyz`, { agent: false });
    await load.waitFor(() => load.count(202, cutAt) >= 10, 10_000, '10 accepted requests during the cut');
    await new Promise((r) => setTimeout(r, Math.max(0, CUT_MS - (Date.now() - cutAt))));
    const attemptsDuringCut = proxy.accepted - acceptedBefore;
    proxy.restore();
    const restoredAt = Date.now();

    const readyAfterMs = await waitForStatus(`${worker.url}/readyz`, 200, 20_000);
    await load.waitFor(() => load.count(202, restoredAt) >= 30, 20_000, '30 accepted requests after the restore');
    await load.stop();
    await waitForDrained(admin, env.KEY_PREFIX, PARTITIONS, config.consumerGroup, 30_000);

    const accepted = load.accepted();
    const figures = load.figures();
    const audit = await auditStreams(admin, env.KEY_PREFIX, PARTITIONS, accepted);
    const count = await countAggregates(admin, env.KEY_PREFIX, PARTITIONS, NODES, accepted);
    // The worker is back on as many connections as before: none lost, none leaked.
    const deadline = Date.now() + 10_000;
    let connectionsAfter = await connectionsByName(admin, workerConnections);
    let transactionsAfter = await transactionConnections();
    while (
      (!sameCounts(connectionsAfter, connectionsBefore) || proxy.openConnections - transactionsAfter !== otherProxiedBefore) &&
      Date.now() < deadline
    ) {
      await new Promise((r) => setTimeout(r, 100));
      connectionsAfter = await connectionsByName(admin, workerConnections);
      transactionsAfter = await transactionConnections();
    }
    console.log(
      [
        `network-cut, ${label}:`,
        `  sent ${figures.sentRequests} requests / ${figures.sentSamples} samples; accepted (202) ${figures.acceptedRequests} / ${figures.acceptedSamples}; rejected (503) ${figures.rejectedRequests} / ${figures.rejectedSamples}; other ${figures.otherRequests}`,
        `  counted ${count.counted} samples; entries stranded on the worker at the cut ${outcome.strandedAtCut}; connections cut ${proxy.cutConnections} of ${proxiedBefore}; connection attempts during the cut ${attemptsDuringCut}`,
        `  cut ${restoredAt - cutAt} ms; worker ready ${readyAfterMs} ms after the restore${outcome.notes.length ? `; ${outcome.notes.join('; ')}` : ''}`,
      ].join('\n'),
    );

    expect(load.unexpected((o) => o.kind === 'response' && o.status === 202)).toEqual([]);
    expect(livez.kind === 'response' ? livez.status : livez.kind).toBe(200);
    expect(readyz.kind === 'response' ? readyz.status : readyz.kind).toBe(503);
    expect(worker.running).toBe(true);
    expect(explainUnreported(audit, load, { cut: cutAt, restore: restoredAt })).toEqual([]);
    expect(audit.missing).toEqual([]);
    expect(count.counted).toBe(accepted.samples);
    expect(count.cpuSeconds).toBeCloseTo(accepted.cpuSeconds, 3);
    expect(count.memSeconds).toBeCloseTo(accepted.memSeconds, 3);
    expect(count.wrongNodes).toEqual([]);
    expect(Object.fromEntries(connectionsAfter)).toEqual(Object.fromEntries(connectionsBefore));
    expect(proxy.openConnections - transactionsAfter).toBe(otherProxiedBefore);
    expect(transactionsAfter).toBeLessThanOrEqual(PARTITIONS);
    // Reconnection backs off: a few attempts per connection during the cut, not a tight loop.
    expect(attemptsDuringCut).toBeLessThanOrEqual(20 * proxiedBefore);
  }

  test('connections reset as entries are delivered to the worker: the stranded entries are reclaimed and counted once', async () => {
    await runScenario('read-lost', async ({ proxy, admin, prefix, group, consumer }) => {
      // The read reply carrying entries never reaches the worker; Redis already counts them as delivered.
      const trigger = proxy.cutOnReply(STREAM_ENTRIES_REPLY, 'refuse');
      await withTimeout(trigger.fired, 10_000, 'a read reply with entries');
      const stranded = await pendingOf(admin, prefix, PARTITIONS, group, consumer);
      expect(stranded).toBeGreaterThan(0);
      return { strandedAtCut: stranded, notes: ['new connections refused during the cut'] };
    });
  }, 45_000);

  test('an apply lost in transit and new connections black-holed: the held entries are applied once after the network heals', async () => {
    await runScenario('apply-lost', async ({ proxy, admin, prefix, group, consumer }) => {
      const trigger = proxy.cutOnCommand(APPLY_COMMAND, 'hold');
      await withTimeout(trigger.fired, 10_000, 'an apply');
      const stranded = await pendingOf(admin, prefix, PARTITIONS, group, consumer);
      expect(stranded).toBeGreaterThan(0);
      return { strandedAtCut: stranded, notes: ['new connections black-holed during the cut'] };
    });
  }, 45_000);

  test('applies reach Redis but their replies are lost, then the connections reset: nothing is applied twice', async () => {
    await runScenario('reply-lost', async ({ proxy, admin, prefix, group, consumer }) => {
      const trigger = proxy.dropRepliesFromCommand(APPLY_COMMAND);
      await withTimeout(trigger.fired, 10_000, 'an apply');
      // Redis applies and acknowledges the batch; the worker never hears of it. Then the reset.
      const deadline = Date.now() + 5000;
      while (proxy.droppedReplies(TRANSACTION_APPLIED_REPLY) === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      const appliedUnheard = proxy.droppedReplies(TRANSACTION_APPLIED_REPLY);
      proxy.cut('refuse');
      const stranded = await pendingOf(admin, prefix, PARTITIONS, group, consumer);
      expect(appliedUnheard).toBeGreaterThan(0);
      return { strandedAtCut: stranded, notes: [`${appliedUnheard} batches applied by Redis whose answer the worker never got`] };
    });
  }, 45_000);

  test('a silent partition (nothing passes, nothing resets) that heals: late replies are matched and nothing is lost or doubled', async () => {
    await runScenario('stalled', async ({ proxy, admin, prefix, group, consumer }) => {
      proxy.stall();
      const stranded = await pendingOf(admin, prefix, PARTITIONS, group, consumer);
      return { strandedAtCut: stranded, notes: ['connections stalled, not reset'] };
    });
  }, 45_000);
});

async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what} did not happen within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

// Ingest's connection to Redis breaks after a write reached Redis but before its reply came back; no sample may be stored without a 202 or twice.
import { randomBytes } from 'node:crypto';
import { Agent } from 'node:http';
import { loadConfig } from '../../shared/config';
import { startPrivateRedis, type PrivateRedis } from '../../launcher/private-redis';
import { waitForStatus } from '../support/http-outcomes';
import { LoadGenerator, nodeNames } from '../support/batch-load-generator';
import { Cleanup } from '../support/cleanup';
import {
  auditStreams,
  connectAdmin,
  countAggregates,
  entriesAdded,
  explainUnreported,
  storedWithUnknownOutcome,
} from '../support/redis-audit';
import { waitForDrained } from '../support/stream-drain';
import { startIngestProcess, startWorkerProcess } from '../support/service-processes';
import { APPEND_ON_STREAM, TcpProxy } from '../support/tcp-proxy';

const PARTITIONS = 4;
const NODES = nodeNames('reply-host', 24);

describe('ingest write whose reply is lost', () => {
  let redisServer: PrivateRedis;
  const cleanup = new Cleanup();
  const agent = new Agent({ keepAlive: true, maxSockets: 4 });

  beforeAll(async () => {
    redisServer = await startPrivateRedis();
  });
  afterEach(() => cleanup.run());
  afterAll(async () => {
    agent.destroy();
    await redisServer.destroy();
  });

  /** Ingest through the proxy, a worker direct; a write reaches Redis, its reply is dropped, then the connection resets for `cutMs`. */
  async function runScenario(label: string, cutMs: number, idempotencyKeys = false): Promise<void> {
    const env = {
      REDIS_URL: redisServer.url,
      KEY_PREFIX: `reply${randomBytes(3).toString('hex')}`,
      STREAM_PARTITIONS: String(PARTITIONS),
      LOG_LEVEL: 'silent',
      REDIS_COMMAND_TIMEOUT_MS: '500',
      WORKER_BLOCK_MS: '200',
    };
    const config = loadConfig(env);
    const admin = await connectAdmin(config);
    cleanup.add(() => admin.quit());
    const proxy = await TcpProxy.start(redisServer.port);
    cleanup.add(() => proxy.close());
    const ingest = await startIngestProcess({ ...env, REDIS_URL: proxy.url });
    cleanup.add(() => ingest.kill());
    const worker = await startWorkerProcess(env, `${label}-worker`);
    cleanup.add(() => worker.kill());

    const load = new LoadGenerator({
      url: ingest.url,
      concurrency: 1,
      samplesPerRequest: 12,
      nodes: NODES,
      paceMs: 20,
      timeoutMs: 5000,
      agent,
      idempotencyKeys,
    });
    load.start();
    cleanup.add(() => load.abort());
    await load.waitFor(() => load.count(202) >= 20, 20_000, '20 accepted requests before the fault');

    // The append script of the next request goes through; its reply, and any later one on that connection, does not.
    const trigger = proxy.dropRepliesFromCommand(APPEND_ON_STREAM);
    await load.waitFor(() => trigger.hasFired, 10_000, 'a write through the proxy');
    // The write reached Redis (its entries are in the streams, no 202 reported them yet); its reply is gone.
    const deadline = Date.now() + 5000;
    while ((await entriesAdded(admin, env.KEY_PREFIX, PARTITIONS)) <= load.accepted().entries.size) {
      if (Date.now() > deadline) throw new Error('the write whose reply was dropped never reached Redis');
      await new Promise((r) => setTimeout(r, 5));
    }
    proxy.cut('refuse');
    const cutAt = Date.now();
    if (cutMs > 0) await new Promise((r) => setTimeout(r, cutMs));
    proxy.restore();
    const restoredAt = Date.now();

    await waitForStatus(`${ingest.url}/readyz`, 200, 20_000);
    await load.waitFor(() => load.count(202, restoredAt) >= 20, 20_000, '20 accepted requests after the restore');
    await load.stop();
    await waitForDrained(admin, env.KEY_PREFIX, PARTITIONS, config.consumerGroup, 30_000);

    const figures = load.figures();
    const audit = await auditStreams(admin, env.KEY_PREFIX, PARTITIONS, load.accepted());
    // A write whose outcome ingest could not settle is answered 503 OUTCOME_UNKNOWN: it may be stored.
    const unknown = storedWithUnknownOutcome(audit, load);
    const accepted = load.accepted(unknown.requests);
    const count = await countAggregates(admin, env.KEY_PREFIX, PARTITIONS, NODES, accepted);
    const unreported = explainUnreported({ ...audit, unreported: unknown.unexplained }, load, { cut: cutAt, restore: restoredAt });
    const requests = new Set(load.records.map((r) => r.seq));
    const replayed = load.records.filter((r) => r.outcome.kind === 'response' && r.outcome.headers['idempotent-replayed'] === 'true');
    console.log(
      [
        `ingest-lost-reply, ${label}:`,
        `  sent ${requests.size} requests in ${figures.sentRequests} attempts / ${figures.sentSamples} samples; accepted (202) ${figures.acceptedRequests} / ${figures.acceptedSamples}; rejected (503) ${figures.rejectedRequests} / ${figures.rejectedSamples}; other ${figures.otherRequests}`,
        `  counted ${count.counted} samples (accepted requests' samples ${accepted.samples}, of them stored with outcome unknown: ${unknown.requests.size} requests); stream entries added ${audit.entriesAdded}, reported by 202s ${audit.entriesAccepted}; replayed answers ${replayed.length}`,
        ...unreported.map((line) => `  ${line}`),
      ].join('\n'),
    );

    expect(load.unexpected((o) => o.kind === 'response' && (o.status === 202 || o.status === 503))).toEqual([]);
    if (idempotencyKeys) expect(accepted.requests).toBe(requests.size);
    expect(unreported).toEqual([]);
    expect(audit.missing).toEqual([]);
    expect(audit.entriesAdded).toBe(audit.entriesAccepted + (audit.unreported.length - unknown.unexplained.length));
    expect(count.counted).toBe(accepted.samples);
    expect(count.wrongNodes).toEqual([]);
    await cleanup.run();
  }

  test('without an Idempotency-Key, connection back at once: the write is not sent again behind its 202 (no sample stored twice)', async () => {
    await runScenario('blip', 0);
  }, 40_000);

  test('without an Idempotency-Key, connection back after 1.5 s: a write Redis stored is not answered 503 "not stored", nor stored again later', async () => {
    await runScenario('outage', 1500);
  }, 40_000);

  test('with an Idempotency-Key and retries after each 503: every request is stored exactly once whichever way the connection breaks', async () => {
    await runScenario('keyed-blip', 0, true);
    await runScenario('keyed-outage', 1500, true);
  }, 50_000);
});

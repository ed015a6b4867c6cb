// Redis crashes (SIGKILL) under load and restarts from its append-only file; every accepted sample is counted once.
import { randomBytes } from 'node:crypto';
import { Agent } from 'node:http';
import { loadConfig } from '../../shared/config';
import { startPrivateRedis, type PrivateRedis } from '../../launcher/private-redis';
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
  sameCounts,
  storedWithUnknownOutcome,
} from '../support/redis-audit';
import { waitForDrained } from '../support/stream-drain';
import { startIngestProcess, startWorkerProcess } from '../support/service-processes';

const PARTITIONS = 4;
const OUTAGE_MS = 1500;
const NODES = nodeNames('restart-host', 48);

describe('Redis crash and restart under load', () => {
  let redisServer: PrivateRedis;
  const cleanup = new Cleanup();
  const agent = new Agent({ keepAlive: true, maxSockets: 16 });

  beforeAll(async () => {
    redisServer = await startPrivateRedis({ appendOnly: true });
  });
  afterEach(() => cleanup.run());
  afterAll(async () => {
    agent.destroy();
    await redisServer.destroy();
  });

  test('while Redis is down ingest answers 503 with Retry-After (never 500, never a hang), then heals by itself and every sample of a 202 is counted exactly once', async () => {
    const env = {
      REDIS_URL: redisServer.url,
      KEY_PREFIX: `restart${randomBytes(3).toString('hex')}`,
      STREAM_PARTITIONS: String(PARTITIONS),
      LOG_LEVEL: 'silent',
      REDIS_COMMAND_TIMEOUT_MS: '500',
      WORKER_BLOCK_MS: '200',
      WORKER_BATCH_SIZE: '50',
      // Entries a worker read just before the crash may stay pending on it: reclaim them soon.
      WORKER_CLAIM_IDLE_MS: '1000',
      WORKER_CLAIM_INTERVAL_MS: '250',
    };
    const config = loadConfig(env);
    const admin = await connectAdmin(config);
    cleanup.add(() => admin.quit());

    const ingest = await startIngestProcess(env);
    cleanup.add(() => ingest.kill());
    const workers = await Promise.all(['restart-a', 'restart-b'].map((name) => startWorkerProcess(env, name)));
    for (const worker of workers) cleanup.add(() => worker.kill());
    const services = [ingest, ...workers];
    const pids = services.map((s) => s.pid);
    // The worker's transaction connections vary with the applies in flight: checked apart.
    const serviceConnections = (name: string) =>
      (name.startsWith('ingest') || name.startsWith('worker:')) && !isTransactionConnection(name);

    const load = new LoadGenerator({
      url: ingest.url,
      concurrency: 8,
      samplesPerRequest: 10,
      nodes: NODES,
      paceMs: 5,
      timeoutMs: 5000,
      agent,
    });
    load.start();
    cleanup.add(() => load.abort());
    await load.waitFor(() => load.count(202) >= 60, 20_000, '60 accepted requests before the crash');
    const connectionsBefore = await connectionsByName(admin, serviceConnections);

    // The crash, a moment after a request went out, so that writes are on their way to
    // Redis: appendfsync always means every write Redis acknowledged is on disk.
    await load.nextRequestSent();
    await new Promise((r) => setTimeout(r, 1));
    const inFlightAtCrash = load.inFlight;
    const crashedAt = Date.now();
    await redisServer.stop('SIGKILL');

    // Probe ingest and the workers all through the outage.
    const probes: { target: string; outcome: Outcome }[] = [];
    let probing = true;
    cleanup.add(() => {
      probing = false;
    });
    const prober = (async () => {
      const targets = [`${ingest.url}/livez`, `${ingest.url}/readyz`, ...workers.map((w) => `${w.url}/livez`)];
      while (probing) {
        for (const target of targets) probes.push({ target, outcome: await send(target, { agent: false, timeoutMs: 5000 }) });
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    await load.waitFor(() => load.count(503, crashedAt) >= 5, 10_000, 'five 503s during the outage');
    await load.waitFor(() => probes.length >= 2 + workers.length, 10_000, 'one round of probes during the outage');
    // The outage lasts OUTAGE_MS however fast the checks above were, with posts going on.
    await new Promise((r) => setTimeout(r, Math.max(0, OUTAGE_MS - (Date.now() - crashedAt))));
    probing = false;
    await prober;
    const restartedAt = Date.now();
    await redisServer.restart();

    const readyAfterMs = await waitForStatus(`${ingest.url}/readyz`, 200, 20_000);
    await load.waitFor(() => load.count(202, restartedAt) >= 60, 20_000, '60 accepted requests after the restart');
    await load.stop();
    for (const worker of workers) await waitForStatus(`${worker.url}/readyz`, 200, 20_000);
    const drain = await waitForDrained(admin, env.KEY_PREFIX, PARTITIONS, config.consumerGroup, 30_000);

    const figures = load.figures();
    // Requests in flight at the crash may be answered 503 OUTCOME_UNKNOWN: they may be stored.
    const audit = await auditStreams(admin, env.KEY_PREFIX, PARTITIONS, load.accepted());
    const unknown = storedWithUnknownOutcome(audit, load);
    const accepted = load.accepted(unknown.requests);
    const count = await countAggregates(admin, env.KEY_PREFIX, PARTITIONS, NODES, accepted);
    // Every service reconnected exactly once: the same connections as before, no leak.
    const deadline = Date.now() + 10_000;
    let connectionsAfter = await connectionsByName(admin, serviceConnections);
    while (!sameCounts(connectionsAfter, connectionsBefore) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      connectionsAfter = await connectionsByName(admin, serviceConnections);
    }
    const duringOutage = load.records.filter((r) => r.startedAt >= crashedAt && r.startedAt < restartedAt);
    const crossingCrash = load.records.filter((r) => r.startedAt < crashedAt && r.endedAt >= crashedAt);
    console.log(
      [
        'redis-restart (SIGKILL, append-only, appendfsync always):',
        `  sent ${figures.sentRequests} requests / ${figures.sentSamples} samples; accepted (202) ${figures.acceptedRequests} / ${figures.acceptedSamples}; rejected (503) ${figures.rejectedRequests} / ${figures.rejectedSamples}; other ${figures.otherRequests}`,
        `  counted ${count.counted} samples (${unknown.requests.size} requests answered OUTCOME_UNKNOWN were stored); stream entries added ${audit.entriesAdded}, reported by 202s ${audit.entriesAccepted}; XINFO lag unknown (nil) in ${drain.nilLagSeen} reads while draining`,
        `  in flight at the crash ${inFlightAtCrash}, answered ${JSON.stringify(load.histogram(crossingCrash))}; outage ${restartedAt - crashedAt} ms, answers meanwhile ${JSON.stringify(load.histogram(duringOutage))}; ${probes.length} probes; ingest ready ${readyAfterMs} ms after the restart`,
      ].join('\n'),
    );

    // Every request answered 202 or 503; none hung, none failed otherwise.
    const allowed = (o: Outcome) => o.kind === 'response' && (o.status === 202 || o.status === 503);
    expect(load.unexpected(allowed)).toEqual([]);
    const without = load.records.filter(
      (r) =>
        r.outcome.kind === 'response' && r.outcome.status === 503 && !/^[1-9]\d*$/.test(String(r.outcome.headers['retry-after'] ?? '')),
    );
    expect(without.map((r) => `#${r.seq} has no Retry-After`)).toEqual([]);
    // The outage really happened and the service came back on its own.
    expect(load.count(503, crashedAt)).toBeGreaterThanOrEqual(5);
    expect(load.count(202, restartedAt)).toBeGreaterThanOrEqual(60);
    // Alive all along, not ready while Redis was down.
    const probeAnswers = (suffix: string) => [
      ...new Set(
        probes.filter((p) => p.target.endsWith(suffix)).map((p) => `${p.target.replace(/^http:\/\/[^/]+/, '')} ${statusOf(p.outcome)}`),
      ),
    ];
    expect(probeAnswers('/livez')).toEqual(['/livez 200']);
    expect(probeAnswers('/readyz')).toEqual(['/readyz 503']);
    expect(services.map((s) => (s.running ? s.pid : `exited ${JSON.stringify(s.exit)}`))).toEqual(pids);
    // Exactly the 202s (and requests whose outcome was reported unknown) are in the
    // streams, and each of their samples is counted once.
    expect(explainUnreported({ ...audit, unreported: unknown.unexplained }, load, { crash: crashedAt, restart: restartedAt })).toEqual([]);
    expect(audit.missing).toEqual([]);
    expect(count.counted).toBe(accepted.samples);
    expect(count.cpuSeconds).toBeCloseTo(accepted.cpuSeconds, 3);
    expect(count.memSeconds).toBeCloseTo(accepted.memSeconds, 3);
    expect(count.wrongNodes).toEqual([]);
    expect(Object.fromEntries(connectionsAfter)).toEqual(Object.fromEntries(connectionsBefore));
    const transactionConnections = await connectionsByName(admin, isTransactionConnection);
    for (const connections of transactionConnections.values()) expect(connections).toBeLessThanOrEqual(PARTITIONS);
  }, 45_000);
});

function statusOf(outcome: Outcome | undefined): number | string {
  if (outcome === undefined) return 'not probed';
  return outcome.kind === 'response' ? outcome.status : outcome.kind;
}

// SIGTERM under load: ingest and a worker drain within their bounds, exit 0, and lose or double no accepted sample.
import { randomBytes } from 'node:crypto';
import { Agent } from 'node:http';
import { loadConfig } from '../../shared/config';
import { startPrivateRedis, type PrivateRedis } from '../../launcher/private-redis';
import type { Outcome } from '../support/http-outcomes';
import { LoadGenerator, nodeNames, type RequestRecord } from '../support/batch-load-generator';
import { Cleanup } from '../support/cleanup';
import { auditStreams, connectAdmin, countAggregates, explainUnreported, groupConsumers, pendingOf } from '../support/redis-audit';
import { waitForDrained } from '../support/stream-drain';
import { startIngestProcess, startWorkerProcess } from '../support/service-processes';

const PARTITIONS = 4;
const SHUTDOWN_TIMEOUT_MS = 5000;
const WORKER_BLOCK_MS = 1000;
const NODES = nodeNames('drain-host', 48);
const SLOW_POSTER = 3;
/** A slow client's upload time: its headers are long in when SIGTERM comes, its body is not. */
const SLOW_UPLOAD_MS = 1200;
const KEEP_ALIVE_POSTER = 4;

describe('graceful shutdown on SIGTERM under load', () => {
  let redisServer: PrivateRedis;
  const cleanup = new Cleanup();

  beforeAll(async () => {
    redisServer = await startPrivateRedis();
  });
  afterEach(() => cleanup.run());
  afterAll(async () => {
    await redisServer.destroy();
  });

  async function setup(stem: string) {
    const env = {
      REDIS_URL: redisServer.url,
      KEY_PREFIX: `${stem}${randomBytes(3).toString('hex')}`,
      STREAM_PARTITIONS: String(PARTITIONS),
      LOG_LEVEL: 'silent',
      SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS),
      WORKER_BLOCK_MS: String(WORKER_BLOCK_MS),
      WORKER_BATCH_SIZE: '100',
      WORKER_CLAIM_IDLE_MS: '500',
      WORKER_CLAIM_INTERVAL_MS: '100',
    };
    const config = loadConfig(env);
    const admin = await connectAdmin(config);
    cleanup.add(() => admin.quit());
    return { env, config, admin };
  }

  test('ingest drains on SIGTERM: requests in flight finish with 202, later ones get 503 or no connection (never 500), it exits 0 within SHUTDOWN_TIMEOUT_MS + 1 s, and every 202 is in the stream', async () => {
    const { env, config, admin } = await setup('drainin');
    const ingest = await startIngestProcess(env);
    cleanup.add(() => ingest.kill());
    const worker = await startWorkerProcess(env, 'drain-steady');
    cleanup.add(() => worker.kill());

    // Posters 0-2 open a new connection per request; 3 uploads slowly; 4 keeps its connection alive.
    const keepAlive = new Agent({ keepAlive: true, maxSockets: 1 });
    cleanup.add(() => keepAlive.destroy());
    const load = new LoadGenerator({
      url: ingest.url,
      concurrency: 5,
      samplesPerRequest: 40,
      nodes: NODES,
      paceMs: 5,
      timeoutMs: 5000,
      agent: false,
      poster: (i) => (i === SLOW_POSTER ? { trickleMs: SLOW_UPLOAD_MS } : i === KEEP_ALIVE_POSTER ? { agent: keepAlive } : {}),
    });
    load.start();
    cleanup.add(() => load.abort());
    await load.waitFor(() => load.count(202) >= 80, 20_000, '80 accepted requests before SIGTERM');
    // Signal while a slow upload is under way with a good part still to come: the drain must let it finish.
    const slowUnderWay = () =>
      [...load.unanswered.values()].some(
        (r) =>
          r.poster === SLOW_POSTER &&
          Date.now() - r.startedAt >= SLOW_UPLOAD_MS / 3 &&
          Date.now() - r.startedAt <= (SLOW_UPLOAD_MS * 2) / 3,
      );
    await load.waitFor(slowUnderWay, 10_000, 'a slow upload in flight');
    const inFlightAtSignal = [...load.unanswered.entries()];
    const signalledAt = Date.now();
    const exit = await ingest.signalAndWait('SIGTERM', SHUTDOWN_TIMEOUT_MS + 3000);
    // Keep posting after the exit: nothing listens any more.
    await load.waitFor(
      () => load.records.some((r) => r.startedAt > (exit?.at ?? Infinity) && r.outcome.kind === 'refused'),
      10_000,
      'a refused connection after the exit',
    );
    await load.stop();
    await waitForDrained(admin, env.KEY_PREFIX, PARTITIONS, config.consumerGroup, 30_000);

    const accepted = load.accepted();
    const figures = load.figures();
    const audit = await auditStreams(admin, env.KEY_PREFIX, PARTITIONS, accepted);
    const count = await countAggregates(admin, env.KEY_PREFIX, PARTITIONS, NODES, accepted);
    const afterSignal = load.records.filter((r) => r.endedAt >= signalledAt);
    const inFlight = load.records.filter((r) => inFlightAtSignal.some(([seq]) => seq === r.seq));
    const noConnection = figures.sentRequests - figures.acceptedRequests - figures.rejectedRequests;
    console.log(
      [
        'sigterm-drain, ingest:',
        `  sent ${figures.sentRequests} requests / ${figures.sentSamples} samples; accepted (202) ${figures.acceptedRequests} / ${figures.acceptedSamples}; rejected (503) ${figures.rejectedRequests} / ${figures.rejectedSamples}; no connection ${noConnection}`,
        `  counted ${count.counted} samples; stream entries added ${audit.entriesAdded}, reported by 202s ${audit.entriesAccepted}`,
        `  exit ${JSON.stringify(exit && { code: exit.code, signal: exit.signal })} after ${exit ? exit.at - signalledAt : `more than ${SHUTDOWN_TIMEOUT_MS + 3000}`} ms; in flight at SIGTERM ${inFlight.length}: ${describeAll(inFlight).join(', ')}`,
        `  answers ending after SIGTERM ${JSON.stringify(load.histogram(afterSignal))}${closedCodes(afterSignal)}`,
      ].join('\n'),
    );

    expect(exit).toBeDefined();
    expect({ code: exit?.code, signal: exit?.signal }).toEqual({ code: 0, signal: null });
    expect(exit!.at - signalledAt).toBeLessThanOrEqual(SHUTDOWN_TIMEOUT_MS + 1000);
    // Before SIGTERM everything was accepted.
    expect(describeAll(load.records.filter((r) => r.endedAt < signalledAt && !isAccepted(r.outcome)))).toEqual([]);
    // The slow upload under way at SIGTERM finished with 202: the drain waited for it.
    const slowInFlight = inFlight.filter((r) => r.poster === SLOW_POSTER);
    expect(slowInFlight.map((r) => (r.outcome.kind === 'response' ? r.outcome.status : r.outcome.kind))).toEqual([202]);
    // From SIGTERM on: 202 (in flight), 503 with Retry-After and Connection: close, or no connection.
    expect(describeAll(afterSignal.filter((r) => !isAllowedDuringDrain(r.outcome)))).toEqual([]);
    expect(describeAll(load.records.filter((r) => r.startedAt > exit!.at && r.outcome.kind === 'response'))).toEqual([]);
    // Every 202 is in the streams, nothing else is, and each sample is counted once.
    expect(explainUnreported(audit, load, { sigterm: signalledAt, exit: exit!.at })).toEqual([]);
    expect(audit.missing).toEqual([]);
    expect(audit.entriesAdded).toBe(audit.entriesAccepted);
    expect(count.counted).toBe(accepted.samples);
    expect(count.cpuSeconds).toBeCloseTo(accepted.cpuSeconds, 3);
    expect(count.wrongNodes).toEqual([]);
  }, 50_000);

  test('a worker drains on SIGTERM: exits 0 within WORKER_BLOCK_MS + SHUTDOWN_TIMEOUT_MS, leaves the group unless it holds entries, and a new worker counts everything once', async () => {
    const { env, config, admin } = await setup('drainwk');
    const ingest = await startIngestProcess(env);
    cleanup.add(() => ingest.kill());
    const victim = await startWorkerProcess(env, 'drain-victim');
    cleanup.add(() => victim.kill());

    const load = new LoadGenerator({ url: ingest.url, concurrency: 3, samplesPerRequest: 40, nodes: NODES, paceMs: 5, timeoutMs: 5000 });
    load.start();
    cleanup.add(() => load.abort());
    await load.waitFor(() => load.count(202) >= 60, 20_000, '60 accepted requests before SIGTERM');
    // Signal it while it holds delivered, unacknowledged entries (mid-batch) if that moment comes soon.
    const deadline = Date.now() + 5000;
    let heldAtSignal = 0;
    while (
      Date.now() < deadline &&
      (heldAtSignal = await pendingOf(admin, env.KEY_PREFIX, PARTITIONS, config.consumerGroup, 'drain-victim')) === 0
    );
    const signalledAt = Date.now();
    const exit = await victim.signalAndWait('SIGTERM', WORKER_BLOCK_MS + SHUTDOWN_TIMEOUT_MS + 3000);
    const consumersAfterExit = await groupConsumers(admin, env.KEY_PREFIX, PARTITIONS, config.consumerGroup);
    const victimEntries = consumersAfterExit.filter((c) => c.name === 'drain-victim');

    // Samples keep coming while no worker runs; a new worker then takes over everything.
    await load.waitFor(() => load.count(202, (exit?.at ?? signalledAt) + 1) >= 30, 20_000, '30 accepted requests with no worker');
    const successor = await startWorkerProcess(env, 'drain-successor');
    cleanup.add(() => successor.kill());
    const successorAt = Date.now();
    await load.waitFor(() => load.count(202, successorAt) >= 30, 20_000, '30 accepted requests with the new worker');
    await load.stop();
    await waitForDrained(admin, env.KEY_PREFIX, PARTITIONS, config.consumerGroup, 30_000);

    const accepted = load.accepted();
    const figures = load.figures();
    const audit = await auditStreams(admin, env.KEY_PREFIX, PARTITIONS, accepted);
    const count = await countAggregates(admin, env.KEY_PREFIX, PARTITIONS, NODES, accepted);
    const consumersAtEnd = await groupConsumers(admin, env.KEY_PREFIX, PARTITIONS, config.consumerGroup);
    console.log(
      [
        'sigterm-drain, worker:',
        `  sent ${figures.sentRequests} requests / ${figures.sentSamples} samples; accepted (202) ${figures.acceptedRequests} / ${figures.acceptedSamples}; rejected (503) ${figures.rejectedRequests} / ${figures.rejectedSamples}; other ${figures.otherRequests}`,
        `  counted ${count.counted} samples; entries held at SIGTERM ${heldAtSignal}`,
        `  exit ${JSON.stringify(exit && { code: exit.code, signal: exit.signal })} after ${exit ? exit.at - signalledAt : 'more than ' + (WORKER_BLOCK_MS + SHUTDOWN_TIMEOUT_MS + 3000)} ms; still in the group after exit: ${JSON.stringify(victimEntries)}`,
      ].join('\n'),
    );

    expect(exit).toBeDefined();
    expect({ code: exit?.code, signal: exit?.signal }).toEqual({ code: 0, signal: null });
    expect(exit!.at - signalledAt).toBeLessThanOrEqual(WORKER_BLOCK_MS + SHUTDOWN_TIMEOUT_MS);
    // It left the group on every partition where it held nothing; where it stays, entries wait for others.
    expect(victimEntries.filter((c) => c.pending === 0)).toEqual([]);
    expect(consumersAtEnd.filter((c) => c.name === 'drain-victim' && c.pending > 0)).toEqual([]);
    expect(load.unexpected((o) => isAccepted(o))).toEqual([]);
    expect(explainUnreported(audit, load, { sigterm: signalledAt })).toEqual([]);
    expect(audit.missing).toEqual([]);
    expect(count.counted).toBe(accepted.samples);
    expect(count.cpuSeconds).toBeCloseTo(accepted.cpuSeconds, 3);
    expect(count.wrongNodes).toEqual([]);
  }, 50_000);
});

function isAccepted(outcome: Outcome): boolean {
  return outcome.kind === 'response' && outcome.status === 202;
}

/** While draining: 202 (a request already in flight), 503 with Retry-After, or no connection at all. */
function isAllowedDuringDrain(outcome: Outcome): boolean {
  if (outcome.kind === 'refused') return true;
  // The listening socket closed while this connection waited to be accepted: reset before any answer.
  if (outcome.kind === 'closed') return outcome.code === 'ECONNRESET';
  if (outcome.kind !== 'response') return false;
  if (outcome.status === 202) return true;
  return (
    outcome.status === 503 && /^[1-9]\d*$/.test(String(outcome.headers['retry-after'] ?? '')) && outcome.headers.connection === 'close'
  );
}

function closedCodes(records: RequestRecord[]): string {
  const codes = records.flatMap((r) => (r.outcome.kind === 'closed' || r.outcome.kind === 'refused' ? [r.outcome.code] : []));
  return codes.length ? `; connection errors ${JSON.stringify([...new Set(codes)])}` : '';
}

function describeAll(records: RequestRecord[]): string[] {
  return records
    .slice(0, 8)
    .map(
      (r) =>
        `#${r.seq} (poster ${r.poster}, ${r.endedAt - r.startedAt} ms): ${r.outcome.kind === 'response' ? r.outcome.status : r.outcome.kind}`,
    );
}

/** One benchmark configuration (workers x fleet size), phase by phase, each figure with its baseline. */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import Redis from 'ioredis';
import { ApiClient } from '../cli/api-client';
import { probeVisibility, type Visibility } from './visibility-probe';
import type { LoadReport } from '../cli/load/open-loop';
import { SyntheticFleet } from '../cli/load/synthetic-fleet';
import { CpuShareMeter, type CpuShare } from './cpu-share';
import { withMachineLoad, type MachineLoad } from './machine-load';
import { aggregatedSamples, closedLoop, drain, redisMemory } from './measure';
import { OtlpFleet, otlpClosedLoop } from './otlp-fleet';
import { PhaseCostMeter, probeOf, type PhaseCost } from './phase-cost';
import { backgroundLoad } from './background-load';
import { startLoadGenerator } from './load-generator';
import { processCpuUs } from './process-cpu';
import { realtimeThreads } from './realtime';
import { applyDelaysBetween, readApplyDelays, type ApplyDelays } from './apply-delay';
import { peakRssMb, startRoutedBaseline, startServices, stopProcess, type ServiceOptions } from './services';
import { roundTripPrice, type RoundTripPrice } from './round-trip-price';
import { wrk, xaddPerSecond, type WrkResult } from './tools';

export interface BenchConfig {
  label: string;
  workers: number;
  /** Fleet size of the ingest phases. */
  nodes: number;
  /** Nodes loaded before the query phase. */
  queryNodes: number;
}

export interface ConfigResult {
  config: BenchConfig;
  /** load, bareLoad: the machine (and the pipeline's or the bare handler's processes) during each wrk run. */
  singlePost: {
    service: WrkResult;
    bare: WrkResult;
    ratio: number;
    cost: PhaseCost;
    load: MachineLoad | null;
    bareLoad: MachineLoad | null;
    /** One POST at a time beside the wrk run: ms from its 202 to a `?after=` query's answer (absent in older results). */
    visibility?: Visibility;
    /** The bare handler's CPU time per request, all its threads as ingest's (absent in older results). */
    bareUsPerRequest?: number;
    /** The same handler behind ingest's middleware and write routes (baseline-apps.ts), against the bare one in rounds (absent in older results). */
    dispatch?: AlternatedRounds;
    /** Ingest against the bare handler in rounds, after the phase (absent in older results). */
    alternated?: AlternatedRounds;
    /** What a round trip costs this Redis, measured after the phase (absent in older results). */
    roundTrip?: RoundTripPrice;
  };
  /** 1,000-sample NDJSON batches from wrk (bench/post-batch.lua): the load of the batch goal for Redis CPU per sample. */
  wrkBatch: { service: WrkResult; samplesPerSecond: number; cost: PhaseCost };
  batch: {
    samplesPerSecond: number;
    accepted: number;
    elapsedS: number;
    statuses: Record<string, number>;
    exact: boolean;
    xaddPerSecond: number;
    ratio: number;
    cost: PhaseCost;
    /** The machine and the pipeline's processes while the senders posted (not the drain after). */
    load: MachineLoad | null;
  };
  /** The same fleet's batches end to end, posted by wrk (bench/post-fleet.lua) instead of Node senders. */
  fleetBatchFromWrk: {
    samplesPerSecond: number;
    accepted: number;
    elapsedS: number;
    non2xx: number;
    exact: boolean;
    ratio: number;
    cost: PhaseCost;
    load: MachineLoad | null;
  };
  otlp: {
    samplesPerSecond: number;
    pointsPerSecond: number;
    accepted: number;
    elapsedS: number;
    statuses: Record<string, number>;
    exact: boolean;
    ratio: number;
  };
  /** load, lowLoad: the whole machine during each freshness phase. */
  freshness: {
    rate: number;
    report: LoadReport;
    load: MachineLoad | null;
    lowRate: number;
    lowReport: LoadReport;
    lowLoad: MachineLoad | null;
    /** The workers' own figure over each phase (apply-delay.ts); absent in older results. */
    applyDelays?: ApplyDelays;
    lowApplyDelays?: ApplyDelays;
  };
  query: {
    average: WrkResult;
    process: WrkResult;
    bareGet: WrkResult;
    ingestRate: number;
    ingestAccepted: number;
    ingestOffered: number;
    /** The whole machine while the queries ran. */
    load: MachineLoad | null;
  };
  memory: {
    perNodeBytes: number;
    perNodeAggregateBytes: number;
    perSampleBytes: number;
    samplesRetained: number;
    usedBytes: number;
    streamBytes: number;
  };
  rss: { ingestMb: number | null; workerMb: (number | null)[]; bareMb: number | null };
  cpu: CpuShare | null;
  /** At the end, each pipeline process's threads and how many ran under SCHED_FIFO (`--realtime`; absent in older results). */
  threads?: { name: string; threads: number; fifo: number }[];
}

/** A baseline server's wrk run, the machine meanwhile, and the server's CPU time per request. */
interface BaselineRun {
  result: WrkResult;
  load: MachineLoad | null;
  usPerRequest: number;
}

/** One wrk run of the single-POST load against a server, and the server's CPU time per request (all its threads). */
async function measuredRun(target: BaselineServer, seconds: number, token: string): Promise<{ result: WrkResult; usPerRequest: number }> {
  const before = processCpuUs(target.pid);
  const result = await wrk(target.url, { connections: CONNECTIONS, seconds, script: 'post.lua', token });
  return { result, usPerRequest: (processCpuUs(target.pid) - before) / result.requests };
}

async function baselineRun(target: BaselineServer, name: string, seconds: number, token: string): Promise<BaselineRun> {
  await wrk(target.url, { connections: CONNECTIONS, seconds: 2, script: 'post.lua', token });
  const { result, load } = await withMachineLoad(() => measuredRun(target, seconds, token), { [name]: target.pid });
  return { result: result.result, load, usPerRequest: result.usPerRequest };
}

/** A server against the bare handler under the same wrk load, in alternated rounds (each round's figures, in order). */
export interface AlternatedRounds {
  requestsPerSecond: number[];
  bareRequestsPerSecond: number[];
  usPerRequest: number[];
  bareUsPerRequest: number[];
}

/** Rounds of a server, each followed by one of the bare handler: the machine's speed drifts within minutes. */
const ROUNDS = 3;

/**
 * `settle` runs after each of the server's rounds, before the bare handler's: ingest's rounds
 * leave the worker applying what they accepted, which would otherwise slow the bare handler's
 * round (in one run: 51 to 62 µs of CPU per request after an ingest round, 40 to 42 after a
 * routed one).
 */
async function alternatedRounds(
  server: BaselineServer,
  bare: BaselineServer,
  seconds: number,
  token: string,
  settle: () => Promise<unknown> = async () => undefined,
): Promise<AlternatedRounds> {
  const rounds: AlternatedRounds = { requestsPerSecond: [], bareRequestsPerSecond: [], usPerRequest: [], bareUsPerRequest: [] };
  for (let round = 0; round < ROUNDS; round++) {
    const measured = await measuredRun(server, seconds, token);
    await settle();
    const baseline = await measuredRun(bare, seconds, token);
    rounds.requestsPerSecond.push(measured.result.requestsPerSecond);
    rounds.usPerRequest.push(measured.usPerRequest);
    rounds.bareRequestsPerSecond.push(baseline.result.requestsPerSecond);
    rounds.bareUsPerRequest.push(baseline.usPerRequest);
  }
  return rounds;
}

interface BaselineServer {
  url: string;
  pid: number;
}

const PROCESSES = 5;
const BATCH = 1000;

/** The OTLP phase's exports: each a batch's worth of samples (a node with its processes), 50 distinct. */
export function otlpPhaseFleet(): OtlpFleet {
  return new OtlpFleet({ prefix: 'o', nodesPerExport: Math.round(BATCH / (1 + PROCESSES)), processes: PROCESSES, count: 50 });
}
/** wrk connections of the single-POST phase: the load of the figures in the hot-path issue. */
const CONNECTIONS = 50;
/** wrk connections of the NDJSON batch phase (the same issue's batch load). */
const BATCH_CONNECTIONS = 8;
const log = (line: string) => process.stderr.write(`[bench] ${line}\n`);

/**
 * `loadMaximum`: the rate the freshness and query loads are fractions of, instead of this run's
 * batch figure from Node senders; fixed, it loads runs that differ in one thing (e.g. --realtime,
 * which moves the batch figure) alike.
 */
export async function runConfiguration(
  config: BenchConfig,
  seconds: number,
  serviceOptions: ServiceOptions = {},
  loadMaximum?: number,
): Promise<ConfigResult> {
  log(`${config.label}: starting Redis, ingest, ${config.workers} worker(s), bare Koa`);
  const redisPid = { pid: 0 };
  const meter = new CpuShareMeter(() => [
    redisPid.pid,
    services.ingest.pid ?? 0,
    services.bare.pid ?? 0,
    ...services.workers.map((w) => w.pid ?? 0),
  ]);
  const services = await startServices(config.workers, serviceOptions);
  redisPid.pid = services.redis.process.pid ?? 0;
  const redis = new Redis(services.redis.url);
  const client = new ApiClient(services.ingestUrl, services.token);
  // Whose waits for a core the phases report. The batch phases' Node senders are this process;
  // the freshness and query phases' generator is a process of its own, named per phase.
  const pipelineProcesses: Record<string, number | 'self'> = {
    ingest: services.ingest.pid ?? 0,
    ...Object.fromEntries(services.workers.map((w, i) => [services.workers.length > 1 ? `worker ${i + 1}` : 'worker', w.pid ?? 0])),
    ...Object.fromEntries(
      services.redisServers.map((r, i) => [services.redisServers.length > 1 ? `Redis ${i + 1}` : 'Redis', r.process.pid ?? 0]),
    ),
    generator: 'self',
  };
  const token = services.token;
  const probe = probeOf(services, redis);
  try {
    const empty = await redisMemory(redis);

    // Memory per node: one node sample and its process samples for every node of the query fleet.
    log(`loading ${config.queryNodes} nodes x ${1 + PROCESSES} samples`);
    const queryFleet = new SyntheticFleet({ nodes: config.queryNodes, processes: PROCESSES, timeslice: 10, prefix: 'q' });
    await closedLoop(services.ingestUrl, queryFleet, { concurrency: 4, batch: BATCH, total: config.queryNodes * (1 + PROCESSES), token });
    await drain(services.ingestUrl, token);
    const loaded = await redisMemory(redis);

    // Single-sample POSTs: the same wrk script against the service and against the bare handler.
    log(`single POSTs: wrk -c${CONNECTIONS}, ${seconds} s each (after a 2 s warm-up), the routed handler and ingest again in rounds`);
    const bareServer = { url: services.bareUrl, pid: services.bare.pid ?? 0 };
    const bareRun = await baselineRun(bareServer, 'bare handler', seconds, token);
    const { result: bare, load: bareLoad } = bareRun;
    const roundSeconds = Math.max(2, Math.round(seconds / ROUNDS));
    const routedServer = await startRoutedBaseline();
    await wrk(routedServer.url, { connections: CONNECTIONS, seconds: 2, script: 'post.lua', token });
    // Stopped once measured: a waited-for child's CPU time counts as the benchmark's own (cpu-share.ts).
    const dispatch = await alternatedRounds(
      { url: routedServer.url, pid: routedServer.child.pid ?? 0 },
      bareServer,
      roundSeconds,
      token,
    ).finally(() => stopProcess(routedServer.child));
    await wrk(services.ingestUrl, { connections: CONNECTIONS, seconds: 2, script: 'post.lua', token });
    await drain(services.ingestUrl, token);
    const singleMeter = await PhaseCostMeter.begin(probe, { commands: true });
    const {
      result: [service, visibility],
      load: singleLoad,
    } = await withMachineLoad(
      () =>
        Promise.all([
          wrk(services.ingestUrl, { connections: CONNECTIONS, seconds, script: 'post.lua', token }),
          probeVisibility(client, seconds * 1000),
        ]),
      pipelineProcesses,
    );
    await drain(services.ingestUrl, token);
    const singleCost = await singleMeter.finish();
    const roundTrip = await roundTripPrice(redis, services.redis.port);
    // The ratio again in rounds beside the bare handler's, which the machine's drift moves less.
    const alternated = await alternatedRounds(
      { url: services.ingestUrl, pid: services.ingest.pid ?? 0 },
      bareServer,
      roundSeconds,
      token,
      () => drain(services.ingestUrl, token),
    );

    // Batches from wrk: 1,000 node samples over the same 1,000 names, as the batch goal is measured.
    log(`NDJSON batches: wrk -c${BATCH_CONNECTIONS}, ${seconds} s, then until drained`);
    const wrkBatchMeter = await PhaseCostMeter.begin(probe, { commands: true });
    const wrkBatch = await wrk(services.ingestUrl, { connections: BATCH_CONNECTIONS, seconds, script: 'post-batch.lua', token });
    await drain(services.ingestUrl, token);
    const wrkBatchCost = await wrkBatchMeter.finish();

    // Pipelined XADD on the same Redis, then the batch path end to end (accepted until drained).
    log('redis-benchmark pipelined XADD');
    const xadd = await xaddPerSecond(services.redis.port, 1_000_000);
    await redis.del('bench-baseline:xadd');
    log(`batch ingest: 4 senders x ${BATCH} samples, ${seconds} s, then until drained`);
    const before = await aggregatedSamples(redis, 'node');
    const batchFleet = new SyntheticFleet({ nodes: config.nodes, processes: PROCESSES, timeslice: 10, prefix: 'b' });
    const batchMeter = await PhaseCostMeter.begin(probe, { commands: true });
    const t0 = performance.now();
    const { result: batch, load: batchLoad } = await withMachineLoad(
      () => closedLoop(services.ingestUrl, batchFleet, { concurrency: 4, batch: BATCH, seconds, token }),
      pipelineProcesses,
    );
    const drained = await drain(services.ingestUrl, token);
    const batchCost = await batchMeter.finish();
    const exact = (await aggregatedSamples(redis, 'node')) - before === batch.acceptedNode;
    const elapsedS = (drained - t0) / 1000;
    const samplesPerSecond = Math.round(batch.accepted / elapsedS);

    // The same fleet's bodies from wrk, a C client like the baseline's: the generator above is
    // Node (fetch), and takes about a quarter of a core of the two the pipeline shares.
    log(`batch ingest from wrk: -c4, the fleet's ${BATCH}-sample bodies, ${seconds} s, then until drained`);
    const bodiesFile = await fleetBodiesFile(new SyntheticFleet({ nodes: config.nodes, processes: PROCESSES, timeslice: 10, prefix: 'w' }));
    const wrkBefore = await allAggregated(redis);
    const wrkFleetMeter = await PhaseCostMeter.begin(probe, { commands: true });
    const w0 = performance.now();
    const { result: wrkFleet, load: wrkFleetLoad } = await withMachineLoad(
      () => wrk(services.ingestUrl, { connections: 4, seconds, script: 'post-fleet.lua', token, env: { BENCH_BODIES: bodiesFile } }),
      pipelineProcesses,
    ).finally(() => rm(dirname(bodiesFile), { recursive: true, force: true }));
    const wrkElapsedS = ((await drain(services.ingestUrl, token)) - w0) / 1000;
    const wrkFleetCost = await wrkFleetMeter.finish();
    const wrkAggregated = (await allAggregated(redis)) - wrkBefore;
    const wrkFleetPerSecond = Math.round(wrkFleetCost.samples / wrkElapsedS);
    const fleetBatchFromWrk = {
      samplesPerSecond: wrkFleetPerSecond,
      accepted: wrkFleetCost.samples,
      elapsedS: wrkElapsedS,
      non2xx: wrkFleet.non2xx,
      exact: wrkAggregated === wrkFleetCost.samples,
      ratio: wrkFleetPerSecond / xadd,
      cost: wrkFleetCost,
      load: wrkFleetLoad,
    };

    // The same, as OTLP protobuf exports of the hostmetrics receiver (about 1,000 samples each).
    log(`OTLP batch ingest: encoding exports, then 4 senders, ${seconds} s, then until drained`);
    const otlpFleet = otlpPhaseFleet();
    const otlpBefore = await aggregatedSamples(redis, 'node');
    const o0 = performance.now();
    const otlpLoop = await otlpClosedLoop(services.ingestUrl, otlpFleet, { concurrency: 4, seconds, token });
    const otlpElapsedS = ((await drain(services.ingestUrl, token)) - o0) / 1000;
    const otlpSamplesPerSecond = Math.round(otlpLoop.accepted / otlpElapsedS);
    const otlp = {
      samplesPerSecond: otlpSamplesPerSecond,
      pointsPerSecond: Math.round(otlpLoop.points / otlpElapsedS),
      accepted: otlpLoop.accepted,
      elapsedS: otlpElapsedS,
      statuses: otlpLoop.statuses,
      exact: (await aggregatedSamples(redis, 'node')) - otlpBefore === otlpLoop.acceptedNode,
      ratio: otlpSamplesPerSecond / samplesPerSecond,
    };

    // Freshness at half the maximum (the goal's figure), and at a tenth of it (the floor), open loop.
    // The maximum is the one Node senders reached: the freshness load also comes from a Node generator.
    const maximum = loadMaximum ?? samplesPerSecond;
    const halfRate = Math.max(100, Math.round(maximum / 2));
    const lowRate = Math.max(100, Math.round(maximum / 10));
    const freshnessAt = async (rate: number) => {
      log(`freshness: open loop at ${rate} samples/s for ${seconds} s`);
      const delaysBefore = await readApplyDelays(services.workerUrls, token);
      const generator = await startLoadGenerator(services.ingestUrl, token, {
        nodes: config.nodes,
        processes: PROCESSES,
        timeslice: 10,
        prefix: 'f',
        rate,
        durationMs: seconds * 1000,
        batch: 500,
        maxInFlight: 256,
        lingerMs: 100,
        freshnessEveryMs: 20,
        requestTimeoutMs: 30_000,
      });
      const measured = await withMachineLoad(() => generator.run(), { ...pipelineProcesses, generator: generator.pid }).finally(() =>
        generator.stop(),
      );
      await drain(services.ingestUrl, token);
      return { ...measured, applyDelays: applyDelaysBetween(delaysBefore, await readApplyDelays(services.workerUrls, token)) };
    };
    const freshness = await freshnessAt(halfRate);
    const lowFreshness = await freshnessAt(lowRate);

    // Queries with the query fleet loaded, while ingest runs at a quarter of the maximum.
    const ingestRate = Math.max(100, Math.round(maximum / 4));
    const querySeconds = Math.max(3, Math.round(seconds / 2));
    log(`queries: wrk -c1, ${querySeconds} s each, while ingest runs at ${ingestRate} samples/s`);
    const generator = await backgroundLoad(services.ingestUrl, token, {
      nodes: config.nodes,
      rate: ingestRate,
      durationMs: (querySeconds * 3 + 2) * 1000,
    });
    const background = generator.run();
    await new Promise((r) => setTimeout(r, 1000));
    const { result: average, load: queryLoad } = await withMachineLoad(
      () =>
        wrk(`${services.ingestUrl}/v1/analytics/nodes/average?timeslice=3600`, {
          connections: 1,
          seconds: querySeconds,
          token,
        }),
      { ...pipelineProcesses, generator: generator.pid },
    );
    const process_ = await wrk(`${services.ingestUrl}/v1/analytics/processes/nginx`, { connections: 1, seconds: querySeconds, token });
    const bareGet = await wrk(`${services.bareUrl}/v1/analytics/nodes/average?timeslice=3600`, {
      connections: 1,
      seconds: querySeconds,
      token,
    });
    const ingestReport = await background.finally(() => generator.stop());
    await drain(services.ingestUrl, token);

    const end = await redisMemory(redis);
    const samplesRetained = await allAggregated(redis);
    const aggregateBytes = (m: { usedBytes: number; streamBytes: number }) => m.usedBytes - m.streamBytes;
    const result: ConfigResult = {
      config,
      singlePost: {
        service,
        bare,
        ratio: service.requestsPerSecond / bare.requestsPerSecond,
        cost: singleCost,
        load: singleLoad,
        bareLoad,
        visibility,
        bareUsPerRequest: bareRun.usPerRequest,
        dispatch,
        alternated,
        roundTrip,
      },
      wrkBatch: {
        service: wrkBatch,
        samplesPerSecond: Math.round(wrkBatchCost.samples / wrkBatchCost.elapsedS),
        cost: wrkBatchCost,
      },
      batch: {
        samplesPerSecond,
        accepted: batch.accepted,
        elapsedS,
        statuses: batch.statuses,
        exact,
        xaddPerSecond: xadd,
        ratio: samplesPerSecond / xadd,
        cost: batchCost,
        load: batchLoad,
      },
      fleetBatchFromWrk,
      otlp,
      freshness: {
        rate: halfRate,
        report: freshness.result,
        load: freshness.load,
        lowRate,
        lowReport: lowFreshness.result,
        lowLoad: lowFreshness.load,
        applyDelays: freshness.applyDelays,
        lowApplyDelays: lowFreshness.applyDelays,
      },
      query: {
        average,
        process: process_,
        bareGet,
        ingestRate,
        ingestAccepted: ingestReport.samples.accepted,
        ingestOffered: ingestReport.samples.offered,
        load: queryLoad,
      },
      memory: {
        perNodeBytes: Math.round((loaded.usedBytes - empty.usedBytes) / config.queryNodes),
        perNodeAggregateBytes: Math.round((aggregateBytes(loaded) - aggregateBytes(empty)) / config.queryNodes),
        perSampleBytes: Math.round((aggregateBytes(end) - aggregateBytes(empty)) / samplesRetained),
        samplesRetained,
        usedBytes: end.usedBytes,
        streamBytes: end.streamBytes,
      },
      rss: { ingestMb: peakRssMb(services.ingest), workerMb: services.workers.map(peakRssMb), bareMb: peakRssMb(services.bare) },
      cpu: meter.finish(),
      threads: Object.entries(pipelineProcesses).flatMap(([name, pid]) => (pid === 'self' ? [] : [{ name, ...realtimeThreads(pid) }])),
    };
    log(
      `${config.label}: done (batch ${wrkFleetPerSecond} samples/s from wrk, ${samplesPerSecond} from Node senders, ` +
        `exact: ${exact && fleetBatchFromWrk.exact}; Redis CPU per sample ` +
        `${singleCost.redisUsPerSample.toFixed(1)} µs single, ${wrkBatchCost.redisUsPerSample.toFixed(2)} µs in NDJSON batches)`,
    );
    return result;
  } finally {
    redis.disconnect();
    await services.stop();
  }
}

/** The fleet's bodies of BATCH samples, every sample once, one body per line of a file for bench/post-fleet.lua. */
async function fleetBodiesFile(fleet: SyntheticFleet): Promise<string> {
  const { nodes, processes } = fleet.options;
  const count = Math.ceil((nodes * (1 + processes)) / BATCH);
  const file = join(await mkdtemp(join(tmpdir(), 'nodeagg-bench-')), 'bodies.jsonl');
  await writeFile(file, Array.from({ length: count }, () => fleet.next(BATCH).body).join('\n') + '\n');
  return file;
}

/** Samples the node and process aggregates hold together. */
async function allAggregated(redis: Redis): Promise<number> {
  return (await aggregatedSamples(redis, 'node')) + (await aggregatedSamples(redis, 'process'));
}

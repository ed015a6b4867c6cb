/**
 * The same load on Redis Clusters of 1 and of 3 masters (private, no replicas): samples/s, and
 * Redis CPU per sample on each master (INFO cpu over the phase / samples accepted), so a
 * deployment can project the throughput each added master brings on a machine with more cores.
 */
import Redis from 'ioredis';
import { SyntheticFleet } from '../cli/load/synthetic-fleet';
import { partitionKeys } from '../shared/store/keys';
import { aggregatedSamples, closedLoop, drain, PREFIX } from './measure';
import { PhaseCostMeter, probeOf, type PhaseCost } from './phase-cost';
import { startServices } from './services';
import { wrk } from './tools';

export interface ClusterScalingOptions {
  masters: number;
  /** STREAM_PARTITIONS: a multiple of every master count compared, so each master holds as many. */
  partitions: number;
  workers: number;
  seconds: number;
}

export interface MasterShare {
  port: number;
  /** The partitions whose slot this master serves. */
  partitions: number[];
  /** Redis CPU on this master per sample of the whole phase. */
  usPerSample: number;
  /** Share of one core this master used over the phase, percent. */
  corePercent: number;
}

export interface ScalingPhase {
  samplesPerSecond: number;
  cost: PhaseCost;
  perMaster: MasterShare[];
  /**
   * What Redis alone could serve, each master being one single-threaded process: the busiest
   * master saturates first, at 1 s of CPU per second.
   */
  redisBoundSamplesPerSecond: number;
}

export interface ClusterScalingResult {
  options: ClusterScalingOptions;
  singlePost: ScalingPhase;
  batch: ScalingPhase & { accepted: number; statuses: Record<string, number>; exact: boolean };
}

const PROCESSES = 5;
const BATCH = 1000;
const CONNECTIONS = 50;
const log = (line: string) => process.stderr.write(`[bench] ${line}\n`);

/** Which partitions each master serves, by the slot of each partition's stream key. */
async function partitionsByPort(masters: Redis[], ports: number[], partitions: number): Promise<Map<number, number[]>> {
  const ranges = await masters[0]!.cluster('SLOTS');
  const placement = new Map<number, number[]>(ports.map((port) => [port, []]));
  for (let p = 0; p < partitions; p += 1) {
    const slot = Number(await masters[0]!.cluster('KEYSLOT', partitionKeys(PREFIX, p, partitions).stream));
    const owner = ranges.find(([first, last]) => slot >= first && slot <= last)?.[2]?.[1];
    if (owner === undefined) throw new Error(`no master serves slot ${slot} of partition ${p}`);
    placement.get(owner)?.push(p);
  }
  return placement;
}

function phaseOf(cost: PhaseCost, ports: number[], placement: Map<number, number[]>): ScalingPhase {
  const perMaster = ports.map((port, i) => {
    const cpuS = cost.redisCpuSByServer[i] ?? NaN;
    return {
      port,
      partitions: placement.get(port) ?? [],
      usPerSample: cost.samples > 0 ? (cpuS * 1e6) / cost.samples : NaN,
      corePercent: (cpuS / cost.elapsedS) * 100,
    };
  });
  const busiest = Math.max(...perMaster.map((m) => m.usPerSample));
  return {
    samplesPerSecond: Math.round(cost.samples / cost.elapsedS),
    cost,
    perMaster,
    redisBoundSamplesPerSecond: Math.round(1e6 / busiest),
  };
}

export async function runClusterScaling(options: ClusterScalingOptions): Promise<ClusterScalingResult> {
  const { masters: masterCount, partitions, workers, seconds } = options;
  if (partitions % masterCount !== 0) throw new Error(`${partitions} partitions do not spread evenly over ${masterCount} masters`);
  log(`cluster of ${masterCount} master(s), ${partitions} partitions: starting it, ingest and ${workers} worker(s)`);
  const services = await startServices(workers, { clusterMasters: masterCount, partitions });
  const masters = services.redisServers.map((server) => new Redis(server.port, '127.0.0.1'));
  const ports = services.redisServers.map((server) => server.port);
  const token = services.token;
  try {
    const probe = probeOf(services, ...masters);
    const placement = await partitionsByPort(masters, ports, partitions);

    log(`single POSTs: wrk -c${CONNECTIONS}, ${seconds} s (after a 2 s warm-up), then until drained`);
    await wrk(services.ingestUrl, { connections: CONNECTIONS, seconds: 2, script: 'post.lua', token });
    await drain(services.ingestUrl, token);
    const singleMeter = await PhaseCostMeter.begin(probe);
    await wrk(services.ingestUrl, { connections: CONNECTIONS, seconds, script: 'post.lua', token });
    await drain(services.ingestUrl, token);
    const singlePost = phaseOf(await singleMeter.finish(), ports, placement);

    log(`batch ingest: 4 senders x ${BATCH} samples, ${seconds} s, then until drained`);
    const before = await aggregatedSamples(masters, 'node', partitions);
    const fleet = new SyntheticFleet({ nodes: 1000, processes: PROCESSES, timeslice: 10, prefix: 'c' });
    const batchMeter = await PhaseCostMeter.begin(probe);
    const loop = await closedLoop(services.ingestUrl, fleet, { concurrency: 4, batch: BATCH, seconds, token });
    await drain(services.ingestUrl, token);
    const batchCost = await batchMeter.finish();
    const exact = (await aggregatedSamples(masters, 'node', partitions)) - before === loop.acceptedNode;
    const batch = { ...phaseOf(batchCost, ports, placement), accepted: loop.accepted, statuses: loop.statuses, exact };
    log(
      `${masterCount} master(s): single POSTs ${singlePost.samplesPerSecond}/s, batches ${batch.samplesPerSecond} samples/s ` +
        `(exact: ${exact}); Redis CPU per sample on the busiest master ${Math.max(...batch.perMaster.map((m) => m.usPerSample)).toFixed(2)} µs`,
    );
    return { options, singlePost, batch };
  } finally {
    for (const master of masters) master.disconnect();
    await services.stop();
  }
}

const n = (v: number, digits = 0) =>
  Number.isFinite(v) ? v.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }) : '-';

function phaseRows(
  name: string,
  results: ClusterScalingResult[],
  phase: (r: ClusterScalingResult) => ScalingPhase,
  digits: number,
): string[] {
  const rows = [
    `| ${name}: samples/s (wall clock, this machine) | ${results.map((r) => n(phase(r).samplesPerSecond)).join(' | ')} |`,
    `| ${name}: Redis CPU per sample, all masters | ${results.map((r) => `${n(phase(r).cost.redisUsPerSample, digits)} µs`).join(' | ')} |`,
    `| ${name}: Redis CPU per sample, each master (partitions it holds) | ${results
      .map((r) =>
        phase(r)
          .perMaster.map((m) => `${n(m.usPerSample, digits)} µs (${m.partitions.length}: ${n(m.corePercent)} % of a core)`)
          .join('<br>'),
      )
      .join(' | ')} |`,
    `| ${name}: ingest / worker CPU per sample | ${results
      .map((r) => `${n(phase(r).cost.ingestUsPerSample, digits)} / ${n(phase(r).cost.workerUsPerSample, digits)} µs`)
      .join(' | ')} |`,
    `| ${name}: Redis-bound samples/s (1 s of CPU / busiest master's µs per sample) | ${results
      .map((r) => n(phase(r).redisBoundSamplesPerSecond))
      .join(' | ')} |`,
  ];
  return rows;
}

/** The scaling table: one column per master count, and what it projects per added master. */
export function renderClusterScaling(results: ClusterScalingResult[], cores: number): string {
  if (results.length === 0) return '';
  const header = `| figure | ${results.map((r) => `${r.options.masters} master(s), ${r.options.partitions} partitions`).join(' | ')} |`;
  const lines = [
    '### Redis Cluster: 1 vs 3 masters',
    '',
    header,
    `|---|${results.map(() => '---').join('|')}|`,
    ...phaseRows('single POSTs', results, (r) => r.singlePost, 1),
    ...phaseRows('batches', results, (r) => r.batch, 2),
    `| batches: every accepted sample counted once | ${results.map((r) => (r.batch.exact ? 'yes' : 'NO')).join(' | ')} |`,
    '',
  ];
  const one = results.find((r) => r.options.masters === 1);
  if (one) {
    for (const [name, phase] of [
      ['single POSTs', (r: ClusterScalingResult) => r.singlePost],
      ['batches', (r: ClusterScalingResult) => r.batch],
    ] as const) {
      const perMaster = 1e6 / phase(one).cost.redisUsPerSample;
      lines.push(
        `- ${name}: one master serves about ${n(perMaster)} samples/s of Redis work; with partitions spread evenly, ` +
          `each added master adds about that much Redis capacity (${results
            .filter((r) => r.options.masters > 1)
            .map((r) => `${r.options.masters} masters measured: ${n(phase(r).redisBoundSamplesPerSecond)}`)
            .join(', ')}).`,
      );
    }
  }
  lines.push(
    `- This machine has ${cores} core(s) shared by every Redis master, ingest, the workers and the load generator, so the ` +
      'wall-clock samples/s cannot grow with the masters here; the Redis-bound figures are what the masters would serve ' +
      'with a core each, provided ingest and the workers scale out beside them.',
    '',
  );
  return lines.join('\n');
}

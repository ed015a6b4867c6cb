/**
 * The CPU cost per sample of one measured phase: Redis (INFO cpu), the ingest process and the
 * worker processes (/proc), each divided by the samples the phase brought in. Read it from the
 * start of the load until the pipeline is drained, so every sample's apply is inside.
 */
import type Redis from 'ioredis';
import {
  commandStats,
  mergeCommandStats,
  redisCpuParts,
  redisTraffic,
  resetCommandStats,
  sumTraffic,
  type CommandStat,
  type RedisTraffic,
} from './redis-accounting';
import { processCpuUs } from './process-cpu';
import type { Services } from './services';

export interface PhaseProbe {
  /** Every Redis server whose CPU the phase costs: the one server, or each master of a cluster. */
  redisServers: Redis[];
  ingestPid: number;
  workerPids: number[];
  /** Ingest's /metrics: nodeagg_samples_accepted_total is the denominator. */
  ingestUrl: string;
  /** The workers' health ports: nodeagg_samples_applied_total, reported beside it. */
  workerUrls: string[];
  /** Bearer token for /metrics; '' when the API is open. */
  token: string;
}

/** The probe of a started set of services, reading Redis through `redisServers` (one connection per server). */
export function probeOf(services: Services, ...redisServers: Redis[]): PhaseProbe {
  return {
    redisServers,
    ingestPid: services.ingest.pid ?? 0,
    workerPids: services.workers.map((w) => w.pid ?? 0),
    ingestUrl: services.ingestUrl,
    workerUrls: services.workerUrls,
    token: services.token,
  };
}

export interface PhaseCost {
  /** Samples ingest accepted during the phase (all applied by its end: the phase ends drained). */
  samples: number;
  /**
   * The workers' own count of the samples they applied. It can fall short of `samples` when a
   * reply is lost after the apply committed (a command timeout on a busy machine): the
   * aggregates are still exact, so `samples` is the denominator.
   */
  workerApplied: number;
  elapsedS: number;
  /** All servers together. */
  redisCpuS: number;
  /** Share of one core Redis used over the phase, percent (all servers together). */
  redisCorePercent: number;
  redisUsPerSample: number;
  /** Of it, in the kernel (used_cpu_sys): reading and writing its connections, mostly. */
  redisSysUsPerSample: number;
  /** Each server's CPU over the phase, in the probe's order (one entry for a single Redis). */
  redisCpuSByServer: number[];
  /** Redis's reads of client connections per sample (requests arriving: round trips), all servers (absent in older results). */
  redisReadsPerSample?: number;
  /** Its writes to client connections per sample (replies sent), all servers (absent in older results). */
  redisWritesPerSample?: number;
  /** Bytes Redis received / sent per sample (requests and replies), all servers (absent in older results). */
  redisBytesInPerSample?: number;
  redisBytesOutPerSample?: number;
  ingestUsPerSample: number;
  workerUsPerSample: number;
  /** INFO commandstats over the phase, when asked for (CONFIG RESETSTAT at its start). */
  commands?: CommandStat[];
}

/** Sum of one counter (over all its label sets) in a Prometheus text exposition. */
async function counter(url: string, name: string, token: string): Promise<number> {
  const response = await fetch(`${url}/metrics`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  if (!response.ok) throw new Error(`${url}/metrics answered ${response.status}`);
  const text = await response.text();
  let sum = 0;
  for (const match of text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? ([\\d.e+]+)$`, 'gm'))) sum += Number(match[1]);
  return sum;
}

interface Reading {
  at: number;
  redisCpuS: number[];
  /** used_cpu_sys of all servers together. */
  redisSysS: number;
  /** All servers together. */
  redisTraffic: RedisTraffic;
  accepted: number;
  applied: number;
  ingestUs: number;
  workerUs: number;
}

async function redisReading(servers: readonly Redis[]): Promise<Pick<Reading, 'redisCpuS' | 'redisSysS' | 'redisTraffic'>> {
  const [parts, traffic] = await Promise.all([Promise.all(servers.map(redisCpuParts)), Promise.all(servers.map(redisTraffic))]);
  return {
    redisCpuS: parts.map(({ user, sys }) => user + sys),
    redisSysS: parts.reduce((sum, { sys }) => sum + sys, 0),
    redisTraffic: sumTraffic(traffic),
  };
}

async function read(probe: PhaseProbe): Promise<Reading> {
  const applied = await Promise.all(probe.workerUrls.map((url) => counter(url, 'nodeagg_samples_applied_total', probe.token)));
  return {
    at: performance.now(),
    ...(await redisReading(probe.redisServers)),
    accepted: await counter(probe.ingestUrl, 'nodeagg_samples_accepted_total', probe.token),
    applied: applied.reduce((a, b) => a + b, 0),
    ingestUs: processCpuUs(probe.ingestPid),
    workerUs: probe.workerPids.reduce((sum, pid) => sum + processCpuUs(pid), 0),
  };
}

export class PhaseCostMeter {
  private constructor(
    private readonly probe: PhaseProbe,
    private readonly start: Reading,
    private readonly withCommands: boolean,
  ) {}

  /** `commands`: also reset and report INFO commandstats (the per-command counters are server-wide). */
  static async begin(probe: PhaseProbe, options: { commands?: boolean } = {}): Promise<PhaseCostMeter> {
    if (options.commands) await Promise.all(probe.redisServers.map(resetCommandStats));
    return new PhaseCostMeter(probe, await read(probe), options.commands ?? false);
  }

  /** Call once the pipeline is drained. */
  async finish(): Promise<PhaseCost> {
    const end = await read(this.probe);
    const samples = end.accepted - this.start.accepted;
    const elapsedS = (end.at - this.start.at) / 1000;
    const redisCpuSByServer = end.redisCpuS.map((cpuS, i) => cpuS - this.start.redisCpuS[i]!);
    const redisCpuS = redisCpuSByServer.reduce((a, b) => a + b, 0);
    const perSample = (us: number) => (samples > 0 ? us / samples : NaN);
    return {
      samples,
      workerApplied: end.applied - this.start.applied,
      elapsedS,
      redisCpuS,
      redisCorePercent: (redisCpuS / elapsedS) * 100,
      redisUsPerSample: perSample(redisCpuS * 1e6),
      redisSysUsPerSample: perSample((end.redisSysS - this.start.redisSysS) * 1e6),
      redisCpuSByServer,
      redisReadsPerSample: perSample(end.redisTraffic.reads - this.start.redisTraffic.reads),
      redisWritesPerSample: perSample(end.redisTraffic.writes - this.start.redisTraffic.writes),
      redisBytesInPerSample: perSample(end.redisTraffic.bytesIn - this.start.redisTraffic.bytesIn),
      redisBytesOutPerSample: perSample(end.redisTraffic.bytesOut - this.start.redisTraffic.bytesOut),
      ingestUsPerSample: perSample(end.ingestUs - this.start.ingestUs),
      workerUsPerSample: perSample(end.workerUs - this.start.workerUs),
      ...(this.withCommands ? { commands: mergeCommandStats(await Promise.all(this.probe.redisServers.map(commandStats))) } : {}),
    };
  }
}

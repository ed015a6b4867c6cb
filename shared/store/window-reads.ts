/**
 * Reads stored buckets back (the query API answers from the aggregates alone, never from
 * raw samples): which keys and fields a window reads, the pipelines, and the decoding.
 */
import { decodeBucket, type BucketStats } from './bucket-codec';
import { coarseBucketOf, coarseChunkOf, COARSE_BUCKET_MS, fineBucketOf, fineChunkOf, FINE_BUCKET_MS, type PartitionKeys } from './keys';
import type { RedisClient } from '../redis';
import { FLEET_LATEST_MEMBER } from './node-times';
import { pipelineValues } from './replies';
import { execPerSlot } from './slot-pipelines';
import type { ChainableCommander } from 'ioredis';
import { selectBuckets, summarize, type WindowSummary } from '../window';

/** One hash and the fields (bucket numbers, or a node's seconds) to read from it. */
export interface BucketRead {
  key: string;
  fields: readonly (number | string)[];
}

/** One HMGET per read, pipelined (per partition on a cluster); a missing bucket is undefined. */
export async function readBuckets(redis: RedisClient, reads: readonly BucketRead[]): Promise<(BucketStats | undefined)[][]> {
  if (reads.length === 0) return [];
  const commands = reads.map(({ key, fields }) => ({
    key,
    add: (pipeline: ChainableCommander) => pipeline.hmgetBuffer(key, ...fields.map(String)),
  }));
  const replies = pipelineValues(await execPerSlot(redis, commands), reads.length);
  return replies.map((values) => (values as (Buffer | null)[]).map((value) => (value === null ? undefined : decodeBucket(value))));
}

/** Time-weighted means of a run of buckets (a chart point). */
export interface SeriesSums {
  cpu: number | null;
  mem: number | null;
  samples: number;
}

export function seriesPoint(buckets: readonly (BucketStats | undefined)[]): SeriesSums {
  let cpuSeconds = 0;
  let memSeconds = 0;
  let seconds = 0;
  let samples = 0;
  for (const b of buckets) {
    if (b === undefined) continue;
    cpuSeconds += b.cpu_seconds;
    memSeconds += b.mem_seconds;
    seconds += b.seconds;
    samples += b.samples;
  }
  return { cpu: seconds > 0 ? cpuSeconds / seconds : null, mem: seconds > 0 ? memSeconds / seconds : null, samples };
}

type ChunkKey = (resolution: 'fine' | 'coarse', chunk: number) => string;

export interface ProcessWindow extends WindowSummary {
  instances: number;
}

export interface FleetSeriesPoint extends SeriesSums {
  t: string;
}

/** What a query reads for one latest time: its bucket reads, and what it needs to use the replies. */
interface ReadPlan {
  reads: BucketRead[];
}

/** Both lists name the same keys and fields in the same order. */
export function sameReads(a: readonly BucketRead[], b: readonly BucketRead[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x.key !== y.key || x.fields.length !== y.fields.length) return false;
    for (let f = 0; f < x.fields.length; f++) if (x.fields[f] !== y.fields[f]) return false;
  }
  return true;
}

export class AggregateReader {
  /**
   * The fleet's latest time as the last fleet query found it (every fleet query reads the same
   * one): the guess its next query's bucket reads go out with, used only when the latest found
   * then selects the very same buckets.
   */
  private fleetLatestSeen: number | undefined;

  constructor(
    private readonly redis: RedisClient,
    private readonly partitions: readonly PartitionKeys[],
    private readonly now: () => number = Date.now,
  ) {}

  /** Latest score of a sorted set across partitions (the T of README's window semantics). */
  private async latest(keyOf: (p: PartitionKeys) => string): Promise<number | null> {
    const tops = await Promise.all(this.partitions.map((p) => this.redis.zrange(keyOf(p), -1, -1, 'WITHSCORES')));
    let latest: number | null = null;
    for (const top of tops) {
      if (top.length === 2) latest = Math.max(latest ?? -Infinity, Number(top[1]));
    }
    return latest;
  }

  /**
   * The fleet's latest node sample time (the T of fleet windows): per partition with nodes,
   * its recorded latest time, or the node set's highest time where data written before that
   * record has none (node-times.ts: at most a step early); null when no partition has nodes.
   */
  private async fleetLatest(): Promise<number | null> {
    const perPartition = await Promise.all(
      this.partitions.map(async (p) => {
        const [top, recorded] = await Promise.all([
          this.redis.zrange(p.nodes, -1, -1, 'WITHSCORES'),
          this.redis.zscore(p.fleetLatest, FLEET_LATEST_MEMBER),
        ]);
        if (top.length < 2) return null;
        return Math.max(Number(top[1]), recorded === null ? -Infinity : Number(recorded));
      }),
    );
    let latest: number | null = null;
    for (const time of perPartition) if (time !== null) latest = Math.max(latest ?? -Infinity, time);
    return latest;
  }

  /**
   * The fleet's latest time and what `planFor` reads for it, in one round trip when it can: the
   * reads the latest seen last plans go out with the read of the latest, and are used when the
   * latest found plans the very same reads; otherwise (or before any fleet query) the reads
   * follow the latest, as they must. Null for an empty fleet.
   */
  private async readAtFleetLatest<P extends ReadPlan>(
    planFor: (latestMs: number) => P,
  ): Promise<{ latest: number; plan: P; buckets: (BucketStats | undefined)[][] } | null> {
    const guessed = this.fleetLatestSeen === undefined ? undefined : planFor(this.fleetLatestSeen).reads;
    // A failed early read costs the query nothing: the reads are made again below.
    const [latest, early] = await Promise.all([this.fleetLatest(), guessed && readBuckets(this.redis, guessed).catch(() => undefined)]);
    if (latest === null) return null;
    this.fleetLatestSeen = latest;
    const plan = planFor(latest);
    const buckets = guessed && early && sameReads(guessed, plan.reads) ? early : await readBuckets(this.redis, plan.reads);
    return { latest, plan, buckets };
  }

  /** One HMGET per partition and chunk key of the window (T - q, T]. */
  private windowReads(chunkKeyOf: (p: PartitionKeys) => ChunkKey, latestMs: number, windowSeconds: number): ReadPlan {
    const selection = selectBuckets(latestMs, windowSeconds, this.now());
    const reads: BucketRead[] = [];
    for (const p of this.partitions) {
      const keyOf = chunkKeyOf(p);
      for (const range of selection) reads.push({ key: keyOf(range.resolution, range.chunk), fields: range.buckets });
    }
    return { reads };
  }

  /** Reads the window's buckets from every partition, one HMGET per chunk key. */
  async readWindow(chunkKeyOf: (p: PartitionKeys) => ChunkKey, latestMs: number, windowSeconds: number): Promise<WindowSummary> {
    const { reads } = this.windowReads(chunkKeyOf, latestMs, windowSeconds);
    return summarize((await readBuckets(this.redis, reads)).flat(), latestMs, windowSeconds);
  }

  async fleetAverage(windowSeconds: number): Promise<WindowSummary | null> {
    const fleetChunks =
      (p: PartitionKeys): ChunkKey =>
      (res, chunk) =>
        res === 'fine' ? p.fleetFine(chunk) : p.fleetCoarse(chunk);
    const read = await this.readAtFleetLatest((latest) => this.windowReads(fleetChunks, latest, windowSeconds));
    return read && summarize(read.buckets.flat(), read.latest, windowSeconds);
  }

  /** The chart's buckets for one latest time, and where each reply's values go. */
  private seriesPlan(latest: number, windowSeconds: number, stepSeconds: number) {
    const coarse = stepSeconds >= 60;
    const bucketMs = coarse ? COARSE_BUCKET_MS : FINE_BUCKET_MS;
    const step = coarse ? Math.max(1, Math.round(stepSeconds / 60)) : Math.max(1, Math.round(stepSeconds));
    const end = coarse ? coarseBucketOf(latest) : fineBucketOf(latest);
    const count = Math.max(1, Math.ceil((windowSeconds * 1000) / bucketMs / step)) * step;
    const buckets = Array.from({ length: count }, (_, i) => end - count + 1 + i);
    const byChunk = new Map<number, number[]>();
    buckets.forEach((b, index) => {
      const chunk = coarse ? coarseChunkOf(b) : fineChunkOf(b);
      byChunk.set(chunk, [...(byChunk.get(chunk) ?? []), index]);
    });
    const reads: BucketRead[] = [];
    const replyIndexes: number[][] = [];
    for (const p of this.partitions) {
      for (const [chunk, indexes] of byChunk) {
        reads.push({ key: coarse ? p.fleetCoarse(chunk) : p.fleetFine(chunk), fields: indexes.map((i) => buckets[i]!) });
        replyIndexes.push(indexes);
      }
    }
    return { reads, replyIndexes, buckets, count, step, bucketMs };
  }

  /**
   * The fleet's time-weighted CPU and memory per `step` seconds over the `windowSeconds`
   * before the latest node sample (the fleet page's chart). Whole-minute steps read the
   * minute buckets, shorter ones the 1-second buckets; null for an empty fleet.
   */
  async fleetSeries(windowSeconds: number, stepSeconds: number): Promise<{ step: number; points: FleetSeriesPoint[] } | null> {
    const read = await this.readAtFleetLatest((latest) => this.seriesPlan(latest, windowSeconds, stepSeconds));
    if (read === null) return null;
    const { buckets, replyIndexes, count, step, bucketMs } = read.plan;
    const perBucket: (BucketStats | undefined)[][] = buckets.map(() => []);
    read.buckets.forEach((values, r) => {
      values.forEach((b, i) => perBucket[replyIndexes[r]![i]!]!.push(b));
    });
    const points: FleetSeriesPoint[] = [];
    for (let i = 0; i < count; i += step) {
      points.push({ t: new Date(buckets[i]! * bucketMs).toISOString(), ...seriesPoint(perBucket.slice(i, i + step).flat()) });
    }
    return { step: (step * bucketMs) / 1000, points };
  }

  /** The processes with a sample in the window, sorted, and the time span they cover. */
  async processList(windowSeconds: number): Promise<{ timeslice: number; names: string[] }> {
    const latest = await this.latest((p) => p.processes);
    if (latest === null) return { timeslice: 0, names: [] };
    const edge = latest - windowSeconds * 1000;
    const [lists, summary] = await Promise.all([
      Promise.all(this.partitions.map((p) => this.redis.zrangebyscore(p.processes, `(${edge}`, '+inf'))),
      this.readWindow(
        (p) => (res, chunk) => (res === 'fine' ? p.allProcessesFine(chunk) : p.allProcessesCoarse(chunk)),
        latest,
        windowSeconds,
      ),
    ]);
    return { timeslice: summary.timeslice, names: [...new Set(lists.flat())].sort() };
  }

  async processWindow(process: string, windowSeconds: number): Promise<ProcessWindow | null> {
    const latest = await this.latest((p) => p.processNodes(process));
    if (latest === null) return null;
    const edge = latest - windowSeconds * 1000;
    const [summary, counts] = await Promise.all([
      this.readWindow(
        (p) => (res, chunk) => (res === 'fine' ? p.processFine(chunk, process) : p.processCoarse(chunk, process)),
        latest,
        windowSeconds,
      ),
      Promise.all(this.partitions.map((p) => this.redis.zcount(p.processNodes(process), `(${edge}`, '+inf'))),
    ]);
    if (summary.samples === 0) return null;
    return { ...summary, instances: counts.reduce((a, b) => a + b, 0) };
  }
}

/** Answers the query API from the aggregates alone (never from raw samples). */
import {
  coarseBucketOf,
  coarseChunkOf,
  COARSE_BUCKET_MS,
  fineBucketOf,
  fineChunkOf,
  FINE_BUCKET_MS,
  type PartitionKeys,
} from '../shared/store/keys';
import type { RedisClient } from '../shared/redis';
import { pipelineValues } from '../shared/redis-replies';
import { parseBucket, selectBuckets, summarize, type BucketStats, type WindowSummary } from '../shared/window';

type ChunkKey = (resolution: 'fine' | 'coarse', chunk: number) => string;

export interface ProcessWindow extends WindowSummary {
  instances: number;
}

export interface FleetSeriesPoint {
  t: string;
  cpu: number | null;
  mem: number | null;
  samples: number;
}

export class AggregateReader {
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

  /** Reads the window's buckets from every partition, one HMGET per chunk key. */
  private async readWindow(chunkKeyOf: (p: PartitionKeys) => ChunkKey, latestMs: number, windowSeconds: number): Promise<WindowSummary> {
    const selection = selectBuckets(latestMs, windowSeconds, this.now());
    const pipeline = this.redis.pipeline();
    for (const p of this.partitions) {
      const keyOf = chunkKeyOf(p);
      for (const range of selection) pipeline.hmget(keyOf(range.resolution, range.chunk), ...range.buckets.map(String));
    }
    const replies = pipelineValues(await pipeline.exec(), this.partitions.length * selection.length);
    const buckets: (BucketStats | undefined)[] = [];
    for (const values of replies) {
      for (const value of values as (string | null)[]) if (value !== null) buckets.push(parseBucket(value));
    }
    return summarize(buckets, latestMs, windowSeconds);
  }

  async fleetAverage(windowSeconds: number): Promise<WindowSummary | null> {
    const latest = await this.latest((p) => p.nodes);
    if (latest === null) return null;
    return this.readWindow((p) => (res, chunk) => (res === 'fine' ? p.fleetFine(chunk) : p.fleetCoarse(chunk)), latest, windowSeconds);
  }

  /**
   * The fleet's time-weighted CPU and memory per `step` seconds over the `windowSeconds`
   * before the latest node sample (the fleet page's chart). Whole-minute steps read the
   * minute buckets, shorter ones the 1-second buckets; null for an empty fleet.
   */
  async fleetSeries(windowSeconds: number, stepSeconds: number): Promise<{ step: number; points: FleetSeriesPoint[] } | null> {
    const latest = await this.latest((p) => p.nodes);
    if (latest === null) return null;
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
    const pipeline = this.redis.pipeline();
    const replyIndexes: number[][] = [];
    for (const p of this.partitions) {
      for (const [chunk, indexes] of byChunk) {
        pipeline.hmget(coarse ? p.fleetCoarse(chunk) : p.fleetFine(chunk), ...indexes.map((i) => String(buckets[i])));
        replyIndexes.push(indexes);
      }
    }
    const replies = (await pipeline.exec()) ?? [];
    const sums = buckets.map(() => ({ v1s: 0, v2s: 0, s: 0, n: 0 }));
    replies.forEach(([error, values], r) => {
      if (error) throw error;
      (values as (string | null)[]).forEach((value, i) => {
        if (value === null) return;
        const b = parseBucket(value);
        const sum = sums[replyIndexes[r]![i]!]!;
        sum.v1s += b.v1s;
        sum.v2s += b.v2s;
        sum.s += b.s;
        sum.n += b.n;
      });
    });
    const points: FleetSeriesPoint[] = [];
    for (let i = 0; i < count; i += step) {
      const group = sums.slice(i, i + step);
      const s = group.reduce((a, g) => a + g.s, 0);
      points.push({
        t: new Date(buckets[i]! * bucketMs).toISOString(),
        cpu: s > 0 ? group.reduce((a, g) => a + g.v1s, 0) / s : null,
        mem: s > 0 ? group.reduce((a, g) => a + g.v2s, 0) / s : null,
        samples: group.reduce((a, g) => a + g.n, 0),
      });
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

/** The per-node views of README's API, read from the per-node aggregates. */
import type { PartitionKeys } from '../shared/store/keys';
import { fineBucketOf, fineChunkOf, FINE_BUCKET_MS } from '../shared/store/keys';
import { partitionOf } from '../shared/partition';
import type { RedisClient } from '../shared/redis';
import { pipelineValues } from '../shared/redis-replies';
import type { BucketStats } from '../shared/store/bucket-codec';
import { readBuckets, seriesPoint } from '../shared/store/window-reads';
import { summarize, type WindowSummary } from '../shared/window';

export interface NodeOverview {
  name: string;
  first_seen: string | null;
  last_seen: string | null;
  latest: { at: string; timeslice: number; cpu: number; mem: number } | null;
}

export interface NodePage {
  /** Nodes in the index (with the prefix, when one was given). */
  total: number;
  nodes: NodeOverview[];
  /** More nodes follow this page. */
  more: boolean;
}

export interface SeriesPoint {
  t: string;
  cpu: number | null;
  mem: number | null;
  samples: number;
}

const iso = (ms: string | number | undefined) => (ms === undefined || ms === null ? null : new Date(Number(ms)).toISOString());

function overview(name: string, summary: Record<string, string>): NodeOverview {
  return {
    name,
    first_seen: iso(summary.first_at),
    last_seen: iso(summary.last_at),
    latest:
      summary.last_at === undefined
        ? null
        : { at: iso(summary.last_at)!, timeslice: Number(summary.timeslice), cpu: Number(summary.cpu), mem: Number(summary.mem) },
  };
}

export class NodeReader {
  constructor(
    private readonly redis: RedisClient,
    private readonly partitions: readonly PartitionKeys[],
  ) {}

  private keysOf(node: string): PartitionKeys {
    return this.partitions[partitionOf(node, this.partitions.length)]!;
  }

  /**
   * One page of nodes in name order, after `after` and starting with `prefix`: each
   * partition's name index answers its first `limit + 1` names in range, the merge keeps
   * the first `limit`. Memory and Redis work per call grow with the page, not the fleet.
   */
  async page(options: { limit: number; after?: string; prefix?: string }): Promise<NodePage> {
    const { limit, after, prefix } = options;
    const low = prefix !== undefined && (after === undefined || after < prefix) ? `[${prefix}` : after !== undefined ? `(${after}` : '-';
    // Names are ASCII, so every name with the prefix sorts before prefix + U+00FF.
    const high = prefix !== undefined ? `[${prefix}\u00ff` : '+';
    const totalLow = prefix !== undefined ? `[${prefix}` : '-';
    const perPartition = await Promise.all(
      this.partitions.map((p) =>
        Promise.all([
          this.redis.zrange(p.nodeNames, low, high, 'BYLEX', 'LIMIT', 0, limit + 1),
          this.redis.zlexcount(p.nodeNames, totalLow, high),
        ]),
      ),
    );
    const merged = perPartition.flatMap(([names]) => names).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const names = merged.slice(0, limit);
    const pipeline = this.redis.pipeline();
    for (const name of names) pipeline.hgetall(this.keysOf(name).nodeSummary(name));
    const summaries = names.length > 0 ? pipelineValues(await pipeline.exec(), names.length) : [];
    return {
      total: perPartition.reduce((sum, [, count]) => sum + count, 0),
      nodes: names.map((name, i) => overview(name, summaries[i] as Record<string, string>)),
      more: merged.length > limit,
    };
  }

  /** Summary over 1, 5 and 15 minutes before the node's latest sample; null if unknown. */
  async detail(
    node: string,
  ): Promise<(NodeOverview & { windows: Record<string, WindowView>; processes: { name: string; last_seen: string }[] }) | null> {
    const keys = this.keysOf(node);
    const [summary, processes] = await Promise.all([
      this.redis.hgetall(keys.nodeSummary(node)),
      this.redis.zrange(keys.nodeProcesses(node), 0, -1, 'WITHSCORES'),
    ]);
    if (summary.last_at === undefined) return null;
    const latest = Number(summary.last_at);
    const windows: Record<string, WindowView> = {};
    for (const [label, seconds] of [
      ['1m', 60],
      ['5m', 300],
      ['15m', 900],
    ] as const) {
      windows[label] = view(await this.nodeWindow(keys, node, latest, seconds));
    }
    const procs: { name: string; last_seen: string }[] = [];
    for (let i = 0; i + 1 < processes.length; i += 2) procs.push({ name: processes[i]!, last_seen: iso(processes[i + 1])! });
    procs.sort((a, b) => (a.name < b.name ? -1 : 1));
    return { ...overview(node, summary), windows, processes: procs };
  }

  private async nodeWindow(keys: PartitionKeys, node: string, latest: number, seconds: number): Promise<WindowSummary> {
    // Per-node data is kept at 1-second resolution only, so the whole window reads it.
    const first = fineBucketOf(latest - seconds * 1000);
    const last = fineBucketOf(latest);
    const buckets = await this.readFine(
      keys,
      node,
      Array.from({ length: last - first + 1 }, (_, i) => first + i),
    );
    return summarize(buckets, latest, seconds);
  }

  private async readFine(keys: PartitionKeys, node: string, buckets: number[]): Promise<(BucketStats | undefined)[]> {
    const byChunk = new Map<number, number[]>();
    for (const b of buckets) {
      const chunk = fineChunkOf(b);
      byChunk.set(chunk, [...(byChunk.get(chunk) ?? []), b]);
    }
    const reads = [...byChunk].map(([chunk, list]) => ({ key: keys.nodeFine(chunk, node), buckets: list }));
    return (await readBuckets(this.redis, reads)).flat();
  }

  /** A time series of `step`-second points over the `windowSeconds` before the latest sample. */
  async series(node: string, windowSeconds: number, stepSeconds: number): Promise<{ points: SeriesPoint[] } | null> {
    const keys = this.keysOf(node);
    const last = await this.redis.hget(keys.nodeSummary(node), 'last_at');
    if (last === null) return null;
    const end = fineBucketOf(Number(last));
    const start = end - Math.ceil(windowSeconds) + 1;
    const all = Array.from({ length: end - start + 1 }, (_, i) => start + i);
    const stats = await this.readFine(keys, node, all);
    const points: SeriesPoint[] = [];
    const step = Math.max(1, Math.round(stepSeconds));
    for (let i = 0; i < all.length; i += step) points.push({ t: iso(all[i]! * FINE_BUCKET_MS)!, ...seriesPoint(stats.slice(i, i + step)) });
    return { points };
  }

  /** Nodes retained across partitions (the members of every partition's node set). */
  async retainedCount(): Promise<number> {
    const pipeline = this.redis.pipeline();
    for (const p of this.partitions) pipeline.zcard(p.nodes);
    const replies = (await pipeline.exec()) ?? [];
    return replies.reduce((sum, [error, count]) => {
      if (error) throw error;
      return sum + Number(count);
    }, 0);
  }

  /** Which of `names` the aggregates already hold: one ZMSCORE per partition touched. */
  async existing(names: readonly string[]): Promise<Set<string>> {
    const byPartition = new Map<number, string[]>();
    for (const name of names) {
      const p = partitionOf(name, this.partitions.length);
      const list = byPartition.get(p);
      if (list) list.push(name);
      else byPartition.set(p, [name]);
    }
    const found = new Set<string>();
    await Promise.all(
      [...byPartition].map(async ([p, list]) => {
        const scores = await this.redis.zmscore(this.partitions[p]!.nodes, ...list);
        scores.forEach((score, i) => {
          if (score !== null) found.add(list[i]!);
        });
      }),
    );
    return found;
  }
}

export interface WindowView {
  timeslice: number;
  samples: number;
  cpu: { mean: number | null; min: number | null; max: number | null };
  mem: { mean: number | null; min: number | null; max: number | null };
}

function view(w: WindowSummary): WindowView {
  return {
    timeslice: w.timeslice,
    samples: w.samples,
    cpu: { mean: w.cpu, min: w.cpu_min, max: w.cpu_max },
    mem: { mean: w.mem, min: w.mem_min, max: w.mem_max },
  };
}

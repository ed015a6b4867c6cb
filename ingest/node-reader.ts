/** The per-node views of README's API, read from the per-node aggregates. */
import type { PartitionKeys } from '../shared/store/keys';
import { fineBucketOf, FINE_BUCKET_MS } from '../shared/store/keys';
import type { RedisClient } from '../shared/redis';
import {
  countRetainedNodes,
  findKnownNodes,
  readNodeFineBuckets,
  readNodeLastSeen,
  readNodeNames,
  readNodeProcesses,
  readNodeSummaries,
  readNodeSummary,
  type NodeSummary,
} from '../shared/store/node-reads';
import { seriesPoint } from '../shared/store/window-reads';
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

const iso = (ms: number) => new Date(ms).toISOString();

/** The windows of a node's detail: label and seconds. */
const DETAIL_WINDOWS = [
  ['1m', 60],
  ['5m', 300],
  ['15m', 900],
] as const;

function overview(name: string, summary: NodeSummary | null): NodeOverview {
  if (summary === null) return { name, first_seen: null, last_seen: null, latest: null };
  return {
    name,
    first_seen: iso(summary.first_at),
    last_seen: iso(summary.last_at),
    latest: { at: iso(summary.last_at), timeslice: summary.timeslice, cpu: summary.cpu, mem: summary.mem },
  };
}

export class NodeReader {
  constructor(
    private readonly redis: RedisClient,
    private readonly partitions: readonly PartitionKeys[],
  ) {}

  /**
   * One page of nodes in name order, after `after` and starting with `prefix`: each
   * partition's name index answers its first `limit + 1` names in range, the merge keeps
   * the first `limit`. Memory and Redis work per call grow with the page, not the fleet.
   */
  async page(options: { limit: number; after?: string; prefix?: string }): Promise<NodePage> {
    const { limit, after, prefix } = options;
    const perPartition = await Promise.all(this.partitions.map((p) => readNodeNames(this.redis, p, { after, prefix }, limit + 1)));
    const merged = perPartition.flatMap(({ names }) => names).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const names = merged.slice(0, limit);
    const summaries = names.length > 0 ? await readNodeSummaries(this.redis, this.partitions, names) : [];
    return {
      total: perPartition.reduce((sum, { total }) => sum + total, 0),
      nodes: names.map((name, i) => overview(name, summaries[i]!)),
      more: merged.length > limit,
    };
  }

  /** Summary over 1, 5 and 15 minutes before the node's latest sample; null if unknown. */
  async detail(
    node: string,
  ): Promise<(NodeOverview & { windows: Record<string, WindowView>; processes: { name: string; last_seen: string }[] }) | null> {
    const [summary, processes] = await Promise.all([
      readNodeSummary(this.redis, this.partitions, node),
      readNodeProcesses(this.redis, this.partitions, node),
    ]);
    if (summary === null) return null;
    const latest = summary.last_at;
    // The three windows are read at once: one round trip for all of them.
    const views = await Promise.all(DETAIL_WINDOWS.map(([, seconds]) => this.nodeWindow(node, latest, seconds)));
    const windows: Record<string, WindowView> = Object.fromEntries(DETAIL_WINDOWS.map(([label], i) => [label, view(views[i]!)]));
    const procs = processes.map((p) => ({ name: p.name, last_seen: iso(p.lastSeenMs) }));
    procs.sort((a, b) => (a.name < b.name ? -1 : 1));
    return { ...overview(node, summary), windows, processes: procs };
  }

  private async nodeWindow(node: string, latest: number, seconds: number): Promise<WindowSummary> {
    // Per-node data is kept at 1-second resolution only, so the whole window reads it.
    const first = fineBucketOf(latest - seconds * 1000);
    const last = fineBucketOf(latest);
    const buckets = await readNodeFineBuckets(
      this.redis,
      this.partitions,
      node,
      Array.from({ length: last - first + 1 }, (_, i) => first + i),
    );
    return summarize(buckets, latest, seconds);
  }

  /** A time series of `step`-second points over the `windowSeconds` before the latest sample. */
  async series(node: string, windowSeconds: number, stepSeconds: number): Promise<{ points: SeriesPoint[] } | null> {
    const last = await readNodeLastSeen(this.redis, this.partitions, node);
    if (last === null) return null;
    const end = fineBucketOf(last);
    const start = end - Math.ceil(windowSeconds) + 1;
    const all = Array.from({ length: end - start + 1 }, (_, i) => start + i);
    const stats = await readNodeFineBuckets(this.redis, this.partitions, node, all);
    const points: SeriesPoint[] = [];
    const step = Math.max(1, Math.round(stepSeconds));
    for (let i = 0; i < all.length; i += step) points.push({ t: iso(all[i]! * FINE_BUCKET_MS), ...seriesPoint(stats.slice(i, i + step)) });
    return { points };
  }

  /** Nodes retained across partitions (the members of every partition's node set). */
  async retainedCount(): Promise<number> {
    return countRetainedNodes(this.redis, this.partitions);
  }

  /** Which of `names` the aggregates already hold: one ZMSCORE per partition touched. */
  async existing(names: readonly string[]): Promise<Set<string>> {
    return findKnownNodes(this.redis, this.partitions, names);
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

/**
 * Folds a batch of samples into per-bucket deltas and packs them as the operations of
 * apply-batch.lua. Pure: no Redis. Work is per bucket, not per sample, in the script.
 * A plan's width (its arguments: keys plus operations) is known while it is built, so
 * callers can keep every script call under MAX_SCRIPT_ARGS.
 */
import {
  coarseBucketOf,
  coarseChunkExpiry,
  coarseChunkOf,
  COARSE_RETENTION_MS,
  fineBucketOf,
  fineChunkExpiry,
  fineChunkOf,
  type PartitionKeys,
} from '../shared/store/keys';
import type { NodeSample, Sample } from '../shared/samples';

/** cs ms s n lo tmax, then cmin cmax mmin mmax for buckets that keep extremes. */
type Delta = number[];

export interface ApplyPlan {
  /** Aggregate keys, in the order the operations index them (from KEYS[FIRST_AGGREGATE_KEY]). */
  keys: string[];
  ops: (string | number)[];
}

/**
 * Most arguments (aggregate keys plus operation arguments) of one apply-batch call. Bounds
 * the script's work per call (about one Redis command per 4 arguments, a few ms) and keeps
 * far below what a JavaScript call or the Redis protocol can carry.
 */
export const MAX_SCRIPT_ARGS = 20_000;

/** KEYS[1] is the stream, KEYS[2] the entry's part markers; aggregate keys follow. */
export const FIRST_AGGREGATE_KEY = 3;

const WIDTH = { B: 9, M: 13, Z: 4, L: 7, R: 3, D: 4, E: 3, H: 4 } as const;

class PlanBuilder {
  private readonly keyIndex = new Map<string, number>();
  /** Distinct keys the operations name, and the operations' arguments so far. */
  private readonly keySet = new Set<string>();
  private opArgs = 0;

  /** Arguments the built plan will take: its keys plus its operations. */
  get width(): number {
    return this.keySet.size + this.opArgs;
  }

  private touch(key: string, width: number): void {
    this.keySet.add(key);
    this.opArgs += width;
  }

  private readonly buckets = new Map<string, { key: string; field: string; delta: Delta }>();
  private readonly latest = new Map<string, { key: string; member: string; score: number }>();
  private readonly nodeSeen = new Map<string, { last: NodeSample; firstAt: number }>();
  private readonly expiries = new Map<string, number>();
  private readonly prunes = new Map<string, number>();
  private readonly nodePrunes = new Map<string, { names: string; maxScore: number }>();

  addToBucket(key: string, field: number, value1: number, value2: number, sample: Sample, extremes: boolean): void {
    const id = `${key}\n${field}`;
    const s = sample.timeslice;
    const bucket = this.buckets.get(id);
    if (bucket === undefined) {
      this.touch(key, extremes ? WIDTH.M : WIDTH.B);
      const delta = [value1 * s, value2 * s, s, 1, sample.at - s * 1000, sample.at];
      if (extremes) delta.push(value1, value1, value2, value2);
      this.buckets.set(id, { key, field: String(field), delta });
      return;
    }
    const d = bucket.delta;
    d[0]! += value1 * s;
    d[1]! += value2 * s;
    d[2]! += s;
    d[3]! += 1;
    d[4] = Math.min(d[4]!, sample.at - s * 1000);
    d[5] = Math.max(d[5]!, sample.at);
    if (extremes) {
      d[6] = Math.min(d[6]!, value1);
      d[7] = Math.max(d[7]!, value1);
      d[8] = Math.min(d[8]!, value2);
      d[9] = Math.max(d[9]!, value2);
    }
  }

  latestTime(key: string, member: string, score: number): void {
    const id = `${key}\n${member}`;
    const current = this.latest.get(id);
    if (current === undefined) {
      this.touch(key, WIDTH.Z);
      this.latest.set(id, { key, member, score });
    } else if (score > current.score) current.score = score;
  }

  nodeSample(key: string, sample: NodeSample): void {
    const seen = this.nodeSeen.get(key);
    if (seen === undefined) {
      this.touch(key, WIDTH.L);
      this.nodeSeen.set(key, { last: sample, firstAt: sample.at });
      return;
    }
    if (sample.at >= seen.last.at) seen.last = sample;
    if (sample.at < seen.firstAt) seen.firstAt = sample.at;
  }

  expireAt(key: string, unixSeconds: number): void {
    const current = this.expiries.get(key);
    if (current === undefined) this.touch(key, WIDTH.E);
    if (current === undefined || unixSeconds > current) this.expiries.set(key, unixSeconds);
  }

  private readonly fields: [string, string, string | number][] = [];

  setField(key: string, field: string, value: string | number): void {
    this.touch(key, WIDTH.H);
    this.fields.push([key, field, value]);
  }

  prune(key: string, maxScore: number): void {
    if (!this.prunes.has(key)) this.touch(key, WIDTH.R);
    this.prunes.set(key, maxScore);
  }

  /** Like prune, and the pruned members also leave the name index `names`. */
  pruneNodes(key: string, names: string, maxScore: number): void {
    if (!this.nodePrunes.has(key)) {
      this.touch(key, WIDTH.D);
      this.touch(names, 0);
    }
    this.nodePrunes.set(key, { names, maxScore });
  }

  private index(key: string): number {
    let i = this.keyIndex.get(key);
    if (i === undefined) {
      i = this.keyIndex.size + FIRST_AGGREGATE_KEY;
      this.keyIndex.set(key, i);
    }
    return i;
  }

  build(): ApplyPlan {
    const ops: (string | number)[] = [];
    for (const { key, field, delta } of this.buckets.values()) {
      ops.push(delta.length === 6 ? 'B' : 'M', this.index(key), field, ...delta);
    }
    for (const { key, member, score } of this.latest.values()) ops.push('Z', this.index(key), member, score);
    for (const [key, { last, firstAt }] of this.nodeSeen) {
      ops.push('L', this.index(key), last.at, last.cpu, last.mem, last.timeslice, firstAt);
    }
    for (const [key, maxScore] of this.prunes) ops.push('R', this.index(key), maxScore);
    for (const [key, { names, maxScore }] of this.nodePrunes) ops.push('D', this.index(key), this.index(names), maxScore);
    for (const [key, at] of this.expiries) ops.push('E', this.index(key), at);
    for (const [key, field, value] of this.fields) ops.push('H', this.index(key), field, value);
    return { keys: [...this.keyIndex.keys()], ops };
  }
}

const OP_KEY_TYPE: Record<string, 'hash' | 'zset' | undefined> = {
  B: 'hash',
  M: 'hash',
  L: 'hash',
  H: 'hash',
  Z: 'zset',
  R: 'zset',
  D: 'zset',
};

/** The Redis type each key of a plan must have (or not exist): hash or sorted set. */
export function keyTypesOf(plan: ApplyPlan): Map<string, 'hash' | 'zset'> {
  const types = new Map<string, 'hash' | 'zset'>();
  for (let i = 0; i < plan.ops.length;) {
    const op = plan.ops[i] as keyof typeof WIDTH;
    const type = OP_KEY_TYPE[op];
    if (type) types.set(plan.keys[(plan.ops[i + 1] as number) - FIRST_AGGREGATE_KEY]!, type);
    i += WIDTH[op];
  }
  return types;
}

/** Plans the update of one partition's aggregates for a batch of its samples. */
export function planBatch(samples: readonly Sample[], keys: PartitionKeys, nowMs: number): ApplyPlan {
  const plan = new PlanBuilder();
  addSamples(plan, samples, keys, nowMs);
  plan.setField(keys.meta, 'last_applied_ms', nowMs);
  return plan.build();
}

/**
 * Splits items into consecutive groups whose combined plan stays within maxArgs. An item
 * whose plan alone is wider comes back as a group of its own, marked oversized.
 */
export function groupWithinBound<T>(
  items: readonly T[],
  samplesOf: (item: T) => readonly Sample[],
  keys: PartitionKeys,
  nowMs: number,
  maxArgs: number = MAX_SCRIPT_ARGS,
): { items: T[]; oversized: boolean }[] {
  const groups: { items: T[]; oversized: boolean }[] = [];
  // Room for the bookkeeping field every plan sets.
  const bound = maxArgs - WIDTH.H - 1;
  let builder = new PlanBuilder();
  let current: T[] = [];
  for (const item of items) {
    addSamples(builder, samplesOf(item), keys, nowMs);
    if (builder.width <= bound) {
      current.push(item);
      continue;
    }
    if (current.length > 0) {
      groups.push({ items: current, oversized: false });
      builder = new PlanBuilder();
      addSamples(builder, samplesOf(item), keys, nowMs);
    }
    if (builder.width > bound) {
      groups.push({ items: [item], oversized: true });
      builder = new PlanBuilder();
      current = [];
    } else {
      current = [item];
    }
  }
  if (current.length > 0) groups.push({ items: current, oversized: false });
  return groups;
}

function addSamples(plan: PlanBuilder, samples: readonly Sample[], keys: PartitionKeys, nowMs: number): void {
  const keepUntil = Math.ceil((nowMs + COARSE_RETENTION_MS) / 1000);
  const forgetBefore = nowMs - COARSE_RETENTION_MS;
  for (const sample of samples) {
    const fine = fineBucketOf(sample.at);
    const coarse = coarseBucketOf(sample.at);
    const fineChunk = fineChunkOf(fine);
    const coarseChunk = coarseChunkOf(coarse);
    if (sample.kind === 'node') {
      const fleetFine = keys.fleetFine(fineChunk);
      const fleetCoarse = keys.fleetCoarse(coarseChunk);
      const nodeFine = keys.nodeFine(fineChunk, sample.node);
      const summary = keys.nodeSummary(sample.node);
      plan.addToBucket(fleetFine, fine, sample.cpu, sample.mem, sample, false);
      plan.addToBucket(fleetCoarse, coarse, sample.cpu, sample.mem, sample, false);
      plan.addToBucket(nodeFine, fine, sample.cpu, sample.mem, sample, true);
      plan.nodeSample(summary, sample);
      plan.latestTime(keys.nodes, sample.node, sample.at);
      plan.latestTime(keys.nodeNames, sample.node, 0);
      plan.expireAt(fleetFine, fineChunkExpiry(fineChunk));
      plan.expireAt(fleetCoarse, coarseChunkExpiry(coarseChunk));
      plan.expireAt(nodeFine, fineChunkExpiry(fineChunk));
      plan.expireAt(summary, keepUntil);
      plan.pruneNodes(keys.nodes, keys.nodeNames, forgetBefore);
    } else {
      const processFine = keys.processFine(fineChunk, sample.process);
      const processCoarse = keys.processCoarse(coarseChunk, sample.process);
      const processNodes = keys.processNodes(sample.process);
      const nodeProcesses = keys.nodeProcesses(sample.node);
      const allFine = keys.allProcessesFine(fineChunk);
      const allCoarse = keys.allProcessesCoarse(coarseChunk);
      plan.addToBucket(processFine, fine, sample.cpu_used, sample.mem_used, sample, false);
      plan.addToBucket(processCoarse, coarse, sample.cpu_used, sample.mem_used, sample, false);
      plan.addToBucket(allFine, fine, sample.cpu_used, sample.mem_used, sample, false);
      plan.addToBucket(allCoarse, coarse, sample.cpu_used, sample.mem_used, sample, false);
      plan.latestTime(processNodes, sample.node, sample.at);
      plan.latestTime(keys.processes, sample.process, sample.at);
      plan.latestTime(nodeProcesses, sample.process, sample.at);
      plan.expireAt(processFine, fineChunkExpiry(fineChunk));
      plan.expireAt(processCoarse, coarseChunkExpiry(coarseChunk));
      plan.expireAt(allFine, fineChunkExpiry(fineChunk));
      plan.expireAt(allCoarse, coarseChunkExpiry(coarseChunk));
      plan.expireAt(processNodes, keepUntil);
      plan.expireAt(nodeProcesses, keepUntil);
      plan.prune(processNodes, forgetBefore);
      plan.prune(keys.processes, forgetBefore);
      plan.prune(nodeProcesses, forgetBefore);
    }
  }
}

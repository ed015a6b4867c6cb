/**
 * Folds a batch of samples into per-bucket deltas: a plan's records (plan-records.ts), which
 * the transaction applies and the script takes as sections. Pure: no Redis. An apply's work
 * is per bucket and per key, not per sample. A plan's width (its arguments: keys plus
 * sections) is known while it is built, so callers can keep every apply under MAX_SCRIPT_ARGS.
 */
import { addSampleInto, sampleBucket, type BucketStats } from './bucket-codec';
import { HousekeepingSchedule } from './housekeeping-schedule';
import { FLEET_LATEST_MEMBER } from './node-times';
import { PlanKeys, type KeyNames } from './plan-keys';
import { scriptSections, type BucketHashRecord, type LatestRecord, type PlanRecords } from './plan-records';
import type { NodeSummary } from './summary-codec';
import {
  coarseBucketOf,
  coarseChunkExpiry,
  coarseChunkOf,
  COARSE_RETENTION_MS,
  fineBucketOf,
  fineChunkExpiry,
  fineChunkOf,
  nodeSecondField,
  nodeSecondsChunkExpiry,
  nodeSecondsChunkOf,
  type PartitionKeys,
} from './keys';
import type { NodeSample, Sample } from '../samples';

export type ScriptArg = string | number | Buffer;
export type KeyType = 'hash' | 'zset';

export interface ApplyPlan {
  /** What to read, merge and write (the transaction applies these). */
  records: PlanRecords;
  /** The records as the sections of apply-batch.lua (keys named in them), laid out when first asked for. */
  readonly sections: ScriptArg[];
  /** The type each key must have (or not exist). */
  keyTypes: ReadonlyMap<string, KeyType>;
}

/**
 * Most arguments (section arguments) of one apply-batch call. Bounds the script's work per
 * call (a few ms) and keeps far below what a JavaScript call or the Redis protocol can carry.
 */
export const MAX_SCRIPT_ARGS = 20_000;

/**
 * Arguments per record of each section (a bucket key adds 3, then 2 per bucket; a summary
 * hash 2, then 2 per node; a latest-time set 3, then 2 per member; a checked key 2).
 */
const WIDTH = {
  bucketKey: 3,
  bucket: 2,
  summaryKey: 2,
  summary: 2,
  latestKey: 3,
  latest: 2,
  expire: 3,
  prune: 2,
  nodePrune: 4,
  field: 3,
  check: 2,
} as const;
/** The section counts every plan carries. */
const SECTION_COUNTS = 8;

/** A bucket hash's record, as the planner fills it. */
interface BucketKey extends BucketHashRecord {
  buckets: Map<number | string, BucketStats>;
  /** The field taken last and its bucket: a fleet-wide hash's samples mostly share a second. */
  lastField: number | string | undefined;
  lastBucket: BucketStats | undefined;
}

/** A hash of one chunk, kept by whoever asks for that chunk again and again. */
interface ChunkHash {
  chunk: number;
  hash: BucketKey;
}

/**
 * One process's place in a plan: its hashes and its set of nodes, found with one lookup per
 * sample instead of one per key (map lookups were most of the planning).
 */
interface ProcessPlan {
  fine: ChunkHash | undefined;
  coarse: ChunkHash | undefined;
  nodes: LatestTimes | undefined;
}

/** A latest-time set's record, as the planner fills it. */
interface LatestTimes extends LatestRecord {
  scores: Map<string, number>;
}

class PlanBuilder {
  private readonly keyTypes = new Map<string, KeyType>();
  /** Keys the script reads before it writes (the read fails on another type): not checked separately. */
  private readonly readFirst = new Set<string>();
  private opArgs = SECTION_COUNTS;

  private readonly bucketKeys = new Map<string, BucketKey>();
  /** summary hash -> node -> summary */
  private readonly summaries = new Map<string, Map<string, NodeSummary>>();
  private readonly latest = new Map<string, LatestTimes>();
  /** key -> expiry (unix s), and whether it is set in any case or only on a key the call creates */
  private readonly expiries = new Map<string, { at: number; always: boolean }>();
  private readonly prunes = new Map<string, number>();
  private readonly nodePrunes = new Map<string, { names: string; summaries: string; maxScore: number }>();
  private readonly fields: [string, string, string | number][] = [];

  /** Lookups addSamples keeps per plan (see ProcessPlan). */
  readonly processPlans = new Map<string, ProcessPlan>();
  /** node -> its set of processes */
  readonly nodeProcessSets = new Map<string, LatestTimes>();
  fleetFine: ChunkHash | undefined;
  fleetCoarse: ChunkHash | undefined;
  nodeSecondsHash: ChunkHash | undefined;
  allProcessesFine: ChunkHash | undefined;
  allProcessesCoarse: ChunkHash | undefined;
  summaryNodes: Map<string, NodeSummary> | undefined;
  nodeTimes: LatestTimes | undefined;
  fleetLatest: LatestTimes | undefined;
  processTimes: LatestTimes | undefined;

  /** Arguments the built plan will take. */
  get width(): number {
    return this.opArgs;
  }

  /** Records the key's type; a key that is only written (not read first) is checked by the script: 2 arguments. */
  private touch(key: string, type: KeyType, width: number): void {
    if (!this.keyTypes.has(key)) this.opArgs += WIDTH.check;
    else if (!this.readFirst.has(key) && this.keyTypes.get(key) !== type) throw new Error(`${key} planned as two types`);
    this.keyTypes.set(key, type);
    this.opArgs += width;
  }

  /** A key the script reads (HMGET) before any write. */
  private touchRead(key: string, width: number): void {
    if (!this.keyTypes.has(key)) {
      this.keyTypes.set(key, 'hash');
      this.readFirst.add(key);
    } else if (!this.readFirst.has(key)) {
      // Planned as only written before: its check goes, the read checks it.
      this.readFirst.add(key);
      this.opArgs -= WIDTH.check;
    }
    this.opArgs += width;
  }

  /** The plan's bucket hash `key` (created on first use, with the expiry of its chunk). */
  bucketHash(key: string, expireAt: number): BucketKey {
    let entry = this.bucketKeys.get(key);
    if (entry === undefined) {
      this.touchRead(key, WIDTH.bucketKey);
      entry = { expireAt, buckets: new Map(), lastField: undefined, lastBucket: undefined };
      this.bucketKeys.set(key, entry);
    }
    return entry;
  }

  /** One sample into the bucket `field` of a hash (extremes: the bucket keeps minima and maxima). */
  addSample(entry: BucketKey, field: number | string, cpu: number, mem: number, timeslice: number, at: number, extremes: boolean): void {
    if (field === entry.lastField) {
      addSampleInto(entry.lastBucket!, cpu, mem, timeslice, at);
      return;
    }
    let current = entry.buckets.get(field);
    if (current === undefined) {
      this.opArgs += WIDTH.bucket;
      current = sampleBucket(cpu, mem, timeslice, at, extremes);
      entry.buckets.set(field, current);
    } else {
      addSampleInto(current, cpu, mem, timeslice, at);
    }
    entry.lastField = field;
    entry.lastBucket = current;
  }

  /**
   * The plan's sorted set `key` of latest times (ZADD GT); a member new to it also joins the
   * name index `names`; `summaries`: the members are that hash's nodes (node-times.ts).
   */
  latestSet(key: string, names?: string, summaries?: string): LatestTimes {
    let times = this.latest.get(key);
    if (times === undefined) {
      this.touch(key, 'zset', WIDTH.latestKey);
      if (names !== undefined) this.touch(names, 'zset', 0);
      times = { names, summaries, scores: new Map() };
      this.latest.set(key, times);
    }
    return times;
  }

  /** The latest time wins. */
  latestTime(times: LatestTimes, member: string, score: number): void {
    const current = times.scores.get(member);
    if (current === undefined) {
      this.opArgs += WIDTH.latest;
      times.scores.set(member, score);
    } else if (score > current) times.scores.set(member, score);
  }

  /** The plan's summary hash `key`: node -> summary. */
  summaryHash(key: string): Map<string, NodeSummary> {
    let nodes = this.summaries.get(key);
    if (nodes === undefined) {
      this.touchRead(key, WIDTH.summaryKey);
      nodes = new Map();
      this.summaries.set(key, nodes);
    }
    return nodes;
  }

  /** The node's summary: its latest sample and the first time it was seen. */
  nodeSample(nodes: Map<string, NodeSummary>, sample: NodeSample): void {
    const { node, at, cpu, mem, timeslice } = sample;
    const seen = nodes.get(node);
    if (seen === undefined) {
      this.opArgs += WIDTH.summary;
      nodes.set(node, { last_at: at, cpu, mem, timeslice, first_at: at });
      return;
    }
    if (at >= seen.last_at) {
      seen.last_at = at;
      seen.cpu = cpu;
      seen.mem = mem;
      seen.timeslice = timeslice;
    }
    if (at < seen.first_at) seen.first_at = at;
  }

  /**
   * EXPIREAT for a sorted set or the summary hash (bucket hashes carry their own expiry).
   * `always` false: only if the call creates the key (its type check finds it missing), so
   * a sorted set's expiry moves on when it is tidied, not in every apply.
   */
  expireAt(key: string, unixSeconds: number, type: KeyType = 'zset', always = true): void {
    const current = this.expiries.get(key);
    if (current === undefined) {
      if (type === 'hash' && this.readFirst.has(key)) this.opArgs += WIDTH.expire;
      else this.touch(key, type, WIDTH.expire);
      this.expiries.set(key, { at: unixSeconds, always });
      return;
    }
    if (unixSeconds > current.at) current.at = unixSeconds;
    current.always ||= always;
  }

  setField(key: string, field: string, value: string | number): void {
    this.touch(key, 'hash', WIDTH.field);
    this.fields.push([key, field, value]);
  }

  prune(key: string, maxScore: number): void {
    if (!this.prunes.has(key)) this.touch(key, 'zset', WIDTH.prune);
    this.prunes.set(key, maxScore);
  }

  /** Like prune, and the pruned members also leave the name index `names` and the summary hash `summaries`. */
  pruneNodes(key: string, names: string, summaries: string, maxScore: number): void {
    if (!this.nodePrunes.has(key)) {
      this.touch(key, 'zset', WIDTH.nodePrune);
      this.touch(names, 'zset', 0);
      if (!this.readFirst.has(summaries)) this.touch(summaries, 'hash', 0);
    }
    this.nodePrunes.set(key, { names, summaries, maxScore });
  }

  /** The plan: its records are this builder's maps (plan-records.ts), so nothing may be added after. */
  build(): ApplyPlan {
    const records: PlanRecords = {
      // Keys that are only written: their types are checked before the first write.
      checks: [...this.keyTypes].filter(([key]) => !this.readFirst.has(key)),
      bucketHashes: this.bucketKeys,
      summaries: this.summaries,
      latest: this.latest,
      expiries: this.expiries,
      prunes: this.prunes,
      nodePrunes: this.nodePrunes,
      fields: this.fields,
    };
    return new BuiltPlan(records, this.keyTypes);
  }
}

/**
 * A class, not an object literal with a getter: with such literals planning took up to twice
 * the time per sample, its heap twice as large and collected by full collections
 * (docs/BENCHMARKS.md, "The planner's records").
 */
class BuiltPlan implements ApplyPlan {
  private laidOut: ScriptArg[] | undefined;

  constructor(
    readonly records: PlanRecords,
    readonly keyTypes: ReadonlyMap<string, KeyType>,
  ) {}

  get sections(): ScriptArg[] {
    return (this.laidOut ??= scriptSections(this.records));
  }
}

/** Plans the update of one partition's aggregates for a batch of its samples. */
export function planBatch(samples: readonly Sample[], keys: PartitionKeys, nowMs: number): ApplyPlan {
  const plan = new PlanBuilder();
  addSamples(plan, samples, new PlanKeys(keys), new HousekeepingSchedule(nowMs));
  return finish(plan, keys, nowMs);
}

function finish(plan: PlanBuilder, keys: PartitionKeys, nowMs: number): ApplyPlan {
  plan.setField(keys.meta, 'last_applied_ms', nowMs);
  return plan.build();
}

/**
 * Arguments one sample can add to a plan at most (every key it touches new to the plan).
 * While a group has this much room per sample left, an item joins it without a trial.
 */
export const MAX_WIDTH_PER_SAMPLE = 80;

/** A group of consecutive items planned together; an oversized item comes without a plan (it is applied in parts). */
export type PlannedGroup<T> = { items: T[]; oversized: false; plan: ApplyPlan } | { items: T[]; oversized: true };

/**
 * Splits items into consecutive groups whose combined plan stays within maxArgs, and plans
 * each group (each sample is planned once, but for items near a group's end, which are
 * tried alone first). An item whose plan alone is wider comes back as a group of its own,
 * marked oversized.
 */
export function groupWithinBound<T>(
  items: readonly T[],
  samplesOf: (item: T) => readonly Sample[],
  keys: PartitionKeys,
  nowMs: number,
  maxArgs: number = MAX_SCRIPT_ARGS,
): PlannedGroup<T>[] {
  const groups: PlannedGroup<T>[] = [];
  // Room for the bookkeeping field every plan sets (and its key's type check).
  const bound = maxArgs - WIDTH.field - WIDTH.check - 1;
  const planKeys = new PlanKeys(keys);
  const housekeeping = new HousekeepingSchedule(nowMs);
  let builder = new PlanBuilder();
  let current: T[] = [];
  const close = () => {
    if (current.length > 0) groups.push({ items: current, oversized: false, plan: finish(builder, keys, nowMs) });
    builder = new PlanBuilder();
    current = [];
  };
  for (const item of items) {
    const samples = samplesOf(item);
    if (builder.width + samples.length * MAX_WIDTH_PER_SAMPLE <= bound) {
      addSamples(builder, samples, planKeys, housekeeping);
      current.push(item);
      continue;
    }
    // It may not fit: plan it alone. Two plans together are at most as wide as both apart.
    const alone = new PlanBuilder();
    addSamples(alone, samples, planKeys, housekeeping);
    if (alone.width > bound) {
      close();
      groups.push({ items: [item], oversized: true });
    } else if (builder.width + alone.width - SECTION_COUNTS <= bound) {
      addSamples(builder, samples, planKeys, housekeeping);
      current.push(item);
    } else {
      close();
      builder = alone;
      current = [item];
    }
  }
  close();
  return groups;
}

/** The hash of `chunk` (and `name`): `held` when it is that chunk's, else the plan's hash of that name. */
function hashOfChunk(
  plan: PlanBuilder,
  held: ChunkHash | undefined,
  names: KeyNames,
  chunk: number,
  name: string,
  expireAt: (chunk: number) => number,
): ChunkHash {
  if (held !== undefined && held.chunk === chunk) return held;
  return { chunk, hash: plan.bucketHash(names.get(chunk, name), expireAt(chunk)) };
}

function addSamples(plan: PlanBuilder, samples: readonly Sample[], planKeys: PlanKeys, housekeeping: HousekeepingSchedule): void {
  const { keys } = planKeys;
  const { keepUntil, forgetBefore } = housekeeping;
  // The summary hash is refreshed by every apply: it lives as long as the coarse buckets after the last.
  const summariesUntil = Math.ceil((housekeeping.nowMs + COARSE_RETENTION_MS) / 1000);
  // A node's and a process's own sets are tidied once an hour (housekeeping-schedule.ts).
  const tidy = (set: string) => {
    const due = housekeeping.due(set);
    plan.expireAt(set, keepUntil, 'zset', due);
    if (due) plan.prune(set, forgetBefore);
  };
  for (const sample of samples) {
    const { node, timeslice, at } = sample;
    const fine = fineBucketOf(at);
    const coarse = coarseBucketOf(at);
    const fineChunk = fineChunkOf(fine);
    const coarseChunk = coarseChunkOf(coarse);
    if (sample.kind === 'node') {
      const { cpu, mem } = sample;
      plan.fleetFine = hashOfChunk(plan, plan.fleetFine, planKeys.fleetFine, fineChunk, '', fineChunkExpiry);
      plan.addSample(plan.fleetFine.hash, fine, cpu, mem, timeslice, at, false);
      plan.fleetCoarse = hashOfChunk(plan, plan.fleetCoarse, planKeys.fleetCoarse, coarseChunk, '', coarseChunkExpiry);
      plan.addSample(plan.fleetCoarse.hash, coarse, cpu, mem, timeslice, at, false);
      const secondsChunk = nodeSecondsChunkOf(fine);
      plan.nodeSecondsHash = hashOfChunk(plan, plan.nodeSecondsHash, planKeys.nodeSeconds, secondsChunk, '', nodeSecondsChunkExpiry);
      plan.addSample(plan.nodeSecondsHash.hash, nodeSecondField(fine, node), cpu, mem, timeslice, at, true);
      if (plan.summaryNodes === undefined) {
        plan.summaryNodes = plan.summaryHash(keys.nodeSummaries);
        plan.nodeSample(plan.summaryNodes, sample);
        plan.expireAt(keys.nodeSummaries, summariesUntil, 'hash');
        plan.nodeTimes = plan.latestSet(keys.nodes, keys.nodeNames, keys.nodeSummaries);
        plan.latestTime(plan.nodeTimes, node, at);
        plan.fleetLatest = plan.latestSet(keys.fleetLatest);
        plan.latestTime(plan.fleetLatest, FLEET_LATEST_MEMBER, at);
        plan.pruneNodes(keys.nodes, keys.nodeNames, keys.nodeSummaries, forgetBefore);
      } else {
        plan.nodeSample(plan.summaryNodes, sample);
        plan.latestTime(plan.nodeTimes!, node, at);
        plan.latestTime(plan.fleetLatest!, FLEET_LATEST_MEMBER, at);
      }
    } else {
      const { process, cpu_used: cpu, mem_used: mem } = sample;
      let processPlan = plan.processPlans.get(process);
      if (processPlan === undefined) {
        processPlan = { fine: undefined, coarse: undefined, nodes: undefined };
        plan.processPlans.set(process, processPlan);
      }
      processPlan.fine = hashOfChunk(plan, processPlan.fine, planKeys.processFine, fineChunk, process, fineChunkExpiry);
      plan.addSample(processPlan.fine.hash, fine, cpu, mem, timeslice, at, false);
      processPlan.coarse = hashOfChunk(plan, processPlan.coarse, planKeys.processCoarse, coarseChunk, process, coarseChunkExpiry);
      plan.addSample(processPlan.coarse.hash, coarse, cpu, mem, timeslice, at, false);
      plan.allProcessesFine = hashOfChunk(plan, plan.allProcessesFine, planKeys.allProcessesFine, fineChunk, '', fineChunkExpiry);
      plan.addSample(plan.allProcessesFine.hash, fine, cpu, mem, timeslice, at, false);
      plan.allProcessesCoarse = hashOfChunk(plan, plan.allProcessesCoarse, planKeys.allProcessesCoarse, coarseChunk, '', coarseChunkExpiry);
      plan.addSample(plan.allProcessesCoarse.hash, coarse, cpu, mem, timeslice, at, false);

      // The sets' first use in a plan names them, and registers their tidying once.
      const newProcessNodes = processPlan.nodes === undefined;
      if (processPlan.nodes === undefined) processPlan.nodes = plan.latestSet(planKeys.processNodes(process));
      plan.latestTime(processPlan.nodes, node, at);
      const firstProcess = plan.processTimes === undefined;
      if (plan.processTimes === undefined) plan.processTimes = plan.latestSet(keys.processes);
      plan.latestTime(plan.processTimes, process, at);
      let nodeProcesses = plan.nodeProcessSets.get(node);
      const newNodeProcesses = nodeProcesses === undefined;
      if (nodeProcesses === undefined) {
        nodeProcesses = plan.latestSet(planKeys.nodeProcesses(node));
        plan.nodeProcessSets.set(node, nodeProcesses);
      }
      plan.latestTime(nodeProcesses, process, at);
      if (newProcessNodes) tidy(planKeys.processNodes(process));
      if (newNodeProcesses) tidy(planKeys.nodeProcesses(node));
      if (firstProcess) plan.prune(keys.processes, forgetBefore);
    }
  }
}

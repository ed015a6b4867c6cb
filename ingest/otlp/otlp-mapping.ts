/**
 * OTLP host and process metrics -> node and process samples (the table in docs/AGENTS.md).
 * Points of the metrics named here that cannot make a sample are rejected with a reason;
 * every other metric is ignored.
 */
import { clampPercent, type Candidate, type Rejection } from '../agent-candidates';
import { NearestReading } from '../nearest-reading';
import {
  TEMPORALITY_DELTA,
  has,
  int64ToNumber,
  type OtlpKeyValue,
  type OtlpMetric,
  type OtlpMetricsRequest,
  type OtlpNumberPoint,
  type OtlpResourceMetrics,
} from './otlp-types';

const M = {
  cpuUtilization: 'system.cpu.utilization',
  cpuTime: 'system.cpu.time',
  cpuCount: 'system.cpu.logical.count',
  memUtilization: 'system.memory.utilization',
  memUsage: 'system.memory.usage',
  procCpuUtilization: 'process.cpu.utilization',
  procCpuTime: 'process.cpu.time',
  procMemUsage: 'process.memory.usage',
} as const;
const MAPPED = new Set<string>(Object.values(M));
/** The metrics a node sample or a CPU count comes from. */
const HOST_METRICS = [M.cpuUtilization, M.cpuTime, M.cpuCount, M.memUtilization, M.memUsage];

// Attribute names changed across semantic-convention versions; the Collector and the SDKs use different ones.
const CPU_STATE_KEYS = ['cpu.mode', 'system.cpu.state', 'state'];
const CPU_ID_KEYS = ['cpu.logical_number', 'system.cpu.logical_number', 'cpu'];
const MEM_STATE_KEYS = ['system.memory.state', 'state'];
/** Memory states that are a breakdown of others (slab is part of cached), left out of the total. */
const MEM_STATES_NOT_IN_TOTAL = new Set(['slab_reclaimable', 'slab_unreclaimable']);

export interface OtlpMappingOptions {
  /** Timeslice of gauge points, seconds (their start time is the boot or SDK start, not the interval). */
  gaugeIntervalSeconds: number;
}

export interface OtlpMapping {
  candidates: Candidate[];
  rejections: Rejection[];
}

/**
 * A point's or a resource's attributes as decoded: looked up by scanning the list (one to a few
 * entries), not copied into a Map per point; that copy was most of the garbage an export made.
 */
type Attributes = readonly OtlpKeyValue[];

const NO_ATTRIBUTES: Attributes = [];

/** The value of `key` (the last entry of that key wins, as in a map built from the list). */
function attributeValue(attributes: Attributes, key: string): string | number | boolean | undefined {
  let found: string | number | boolean | undefined;
  for (const kv of attributes) {
    const v = kv.value;
    if (!v || kv.key !== key) continue;
    if (has(v, 'stringValue')) found = v.stringValue!;
    else if (has(v, 'intValue')) found = int64ToNumber(v.intValue);
    else if (has(v, 'doubleValue')) found = v.doubleValue!;
    else if (has(v, 'boolValue')) found = v.boolValue!;
  }
  return found;
}

function firstOf(attributes: Attributes, keys: readonly string[]): string | undefined {
  for (const key of keys) {
    const value = attributeValue(attributes, key);
    if (value !== undefined) return String(value);
  }
  return undefined;
}

interface Point {
  value: number;
  timeMs: number;
  timeslice: number;
  attributes: Attributes;
}

/**
 * A metric's number points, with value, time and timeslice resolved; unusable ones counted apart.
 * Without `keepAttributes` the points hold nothing of the decoded message.
 */
function pointsOf(metrics: OtlpMetric[], options: OtlpMappingOptions, keepAttributes = true): { points: Point[]; unusable: number } {
  const points: Point[] = [];
  let unusable = 0;
  for (const metric of metrics) {
    const data: OtlpNumberPoint[] = metric.gauge?.dataPoints ?? metric.sum?.dataPoints ?? [];
    const delta = !metric.gauge && metric.sum?.aggregationTemporality === TEMPORALITY_DELTA;
    for (const p of data) {
      const value = has(p, 'asDouble') ? p.asDouble : has(p, 'asInt') ? int64ToNumber(p.asInt) : undefined;
      const time = int64ToNumber(p.timeUnixNano ?? 0);
      const start = int64ToNumber(p.startTimeUnixNano ?? 0);
      if (typeof value !== 'number' || !Number.isFinite(value) || !(time > 0)) {
        unusable++;
        continue;
      }
      const timeslice = delta && start > 0 && time > start ? (time - start) / 1e9 : options.gaugeIntervalSeconds;
      const attributes = keepAttributes ? (p.attributes ?? NO_ATTRIBUTES) : NO_ATTRIBUTES;
      points.push({ value, timeMs: Math.round(time / 1e6), timeslice, attributes });
    }
  }
  return { points, unusable };
}

/** Points of one metric grouped by their time: one reading per collection. */
function readingsOf(points: Point[]): Point[][] {
  // Usually one collection per export: no grouping needed.
  if (points.every((p) => p.timeMs === points[0]!.timeMs)) return points.length > 0 ? [points] : [];
  const byTime = new Map<number, Point[]>();
  for (const p of points) {
    const group = byTime.get(p.timeMs);
    if (group) group.push(p);
    else byTime.set(p.timeMs, [p]);
  }
  return [...byTime.values()];
}

interface ResourceView {
  attributes: Attributes;
  node: string | undefined;
  metrics: Map<string, OtlpMetric[]>;
  /** pointsOf per metric name, computed once. */
  resolved: Map<string, { points: Point[]; unusable: number }>;
}

function pointsFor(view: ResourceView, name: string, options: OtlpMappingOptions): { points: Point[]; unusable: number } {
  let resolved = view.resolved.get(name);
  if (!resolved) {
    resolved = pointsOf(view.metrics.get(name) ?? [], options);
    view.resolved.set(name, resolved);
  }
  return resolved;
}

/** A resource that carries any metric of the mapping, with those metrics by name; undefined for the others (they cost nothing more). */
function viewOf(rm: OtlpResourceMetrics): ResourceView | undefined {
  const metrics = new Map<string, OtlpMetric[]>();
  for (const sm of rm.scopeMetrics ?? []) {
    for (const metric of sm.metrics ?? []) {
      if (!metric.name || !MAPPED.has(metric.name)) continue;
      const list = metrics.get(metric.name);
      if (list) list.push(metric);
      else metrics.set(metric.name, [metric]);
    }
  }
  if (metrics.size === 0) return undefined;
  const attributes = rm.resource?.attributes ?? NO_ATTRIBUTES;
  return { attributes, node: firstOf(attributes, ['host.name', 'k8s.node.name']), metrics, resolved: new Map() };
}

/** Logical CPUs of a node's resource, from its per-CPU points or system.cpu.logical.count; 0 when it has neither. */
function cpuCountOf(view: ResourceView, options: OtlpMappingOptions): number {
  let count = 0;
  for (const name of [M.cpuUtilization, M.cpuTime]) {
    const { points } = pointsFor(view, name, options);
    for (const reading of readingsOf(points)) {
      count = Math.max(count, new Set(reading.map((p) => firstOf(p.attributes, CPU_ID_KEYS) ?? '')).size);
    }
  }
  for (const p of pointsFor(view, M.cpuCount, options).points) count = Math.max(count, p.value);
  return count;
}

class MappingBuilder {
  readonly candidates: Candidate[] = [];
  readonly rejections: Rejection[] = [];
  private readonly processes = new Map<string, Candidate>();

  reject(units: number, reason: string): void {
    if (units > 0) this.rejections.push({ units, reason });
  }

  /** Another builder's node samples and rejections, after this one's. */
  append(other: MappingBuilder): void {
    for (const candidate of other.candidates) this.candidates.push(candidate);
    for (const rejection of other.rejections) this.rejections.push(rejection);
  }

  /** Processes of one name on one node at one time are summed, as the nodeagg agent does. */
  addProcess(node: string, process: string, at: number, timeslice: number, cpuUsed: number, memUsed: number, units: number): void {
    const key = `${node}\u0000${process}\u0000${at}`;
    const existing = this.processes.get(key);
    if (existing && 'cpu_used' in existing.item) {
      existing.item.cpu_used += cpuUsed;
      existing.item.mem_used += memUsed;
      existing.units += units;
      return;
    }
    const candidate: Candidate = { item: { node, process, timeslice, at, cpu_used: cpuUsed, mem_used: memUsed }, units };
    this.processes.set(key, candidate);
    this.candidates.push(candidate);
  }
}

interface MemReading {
  timeMs: number;
  percent: number;
  units: number;
}

function memoryReadings(view: ResourceView, options: OtlpMappingOptions): { readings: MemReading[]; unusable: number } {
  const utilization = pointsFor(view, M.memUtilization, options);
  if (utilization.points.length > 0) {
    const readings: MemReading[] = [];
    for (const reading of readingsOf(utilization.points)) {
      const used = reading.find((p) => firstOf(p.attributes, MEM_STATE_KEYS) === 'used');
      if (used) readings.push({ timeMs: used.timeMs, percent: clampPercent(used.value * 100), units: reading.length });
    }
    return { readings, unusable: utilization.unusable };
  }
  const usage = pointsFor(view, M.memUsage, options);
  const readings: MemReading[] = [];
  for (const reading of readingsOf(usage.points)) {
    let used = 0;
    let total = 0;
    for (const p of reading) {
      const state = firstOf(p.attributes, MEM_STATE_KEYS) ?? '';
      if (state === 'used') used += p.value;
      if (!MEM_STATES_NOT_IN_TOTAL.has(state)) total += p.value;
    }
    if (total > 0) readings.push({ timeMs: reading[0]!.timeMs, percent: clampPercent((used / total) * 100), units: reading.length });
  }
  return { readings, unusable: usage.unusable };
}

function countPoints(view: ResourceView, names: readonly string[]): number {
  let n = 0;
  for (const name of names) for (const metric of view.metrics.get(name) ?? []) n += (metric.gauge ?? metric.sum)?.dataPoints?.length ?? 0;
  return n;
}

function mapNode(view: ResourceView, node: string, options: OtlpMappingOptions, out: MappingBuilder): void {
  const cpu = pointsFor(view, M.cpuUtilization, options);
  const memory = memoryReadings(view, options);
  const memoryByTime = new NearestReading(memory.readings);
  const memoryPoints = countPoints(view, [M.memUtilization, M.memUsage]);
  out.reject(cpu.unusable + memory.unusable, `host ${node}: data points without a finite value or a time`);
  if (cpu.points.length === 0) {
    out.reject(
      countPoints(view, [M.cpuTime]),
      `host ${node}: system.cpu.time is a cumulative counter and not usable alone; enable system.cpu.utilization`,
    );
    out.reject(
      memoryPoints - memory.unusable,
      `host ${node}: system.memory.* make a node sample only together with system.cpu.utilization; enable it`,
    );
    return;
  }
  for (const reading of readingsOf(cpu.points)) {
    const first = reading[0]!;
    const idle = reading.filter((p) => firstOf(p.attributes, CPU_STATE_KEYS) === 'idle');
    if (idle.length === 0) {
      out.reject(reading.length, `host ${node}: system.cpu.utilization has no idle state`);
      continue;
    }
    const cpus = new Set(reading.map((p) => firstOf(p.attributes, CPU_ID_KEYS) ?? '')).size;
    const idleShare = idle.reduce((sum, p) => sum + p.value, 0) / cpus;
    const mem = memoryByTime.find(first.timeMs, first.timeslice * 1000);
    if (!mem) {
      out.reject(
        reading.length,
        `host ${node}: system.cpu.utilization needs system.memory.utilization or system.memory.usage of the same host in the same export`,
      );
      continue;
    }
    out.candidates.push({
      item: { node, timeslice: first.timeslice, at: first.timeMs, cpu: clampPercent((1 - idleShare) * 100), mem: mem.percent },
      units: reading.length + mem.units,
    });
  }
}

/**
 * What mapping a process resource needs, taken from its decoded messages as it is decoded: it is
 * mapped at the end of the export, once the CPU count of its node is known (its host resource
 * may come later), and by then its messages are gone.
 */
interface ProcessView {
  /** process.executable.name or process.command. */
  name: string | undefined;
  cpu: { points: Point[]; unusable: number };
  mem: { points: Point[]; unusable: number };
  /** Points of the three process metrics. */
  all: number;
  cpuTimePoints: number;
}

/** Undefined for a resource without process metrics. */
function processViewOf(view: ResourceView, options: OtlpMappingOptions): ProcessView | undefined {
  const all = countPoints(view, [M.procCpuUtilization, M.procMemUsage, M.procCpuTime]);
  if (all === 0) return undefined;
  return {
    name: firstOf(view.attributes, ['process.executable.name', 'process.command']),
    cpu: pointsOf(view.metrics.get(M.procCpuUtilization) ?? [], options, false),
    mem: pointsOf(view.metrics.get(M.procMemUsage) ?? [], options, false),
    all,
    cpuTimePoints: countPoints(view, [M.procCpuTime]),
  };
}

function mapProcess(view: ProcessView, node: string, cpuCount: number | undefined, out: MappingBuilder): void {
  const { cpu, mem, all, name } = view;
  if (name === undefined) {
    out.reject(all, `host ${node}: a process resource has neither process.executable.name nor process.command`);
    return;
  }
  out.reject(cpu.unusable + mem.unusable, `process ${name} on ${node}: data points without a finite value or a time`);
  if (cpu.points.length === 0) {
    out.reject(
      view.cpuTimePoints,
      `process ${name} on ${node}: process.cpu.time is a cumulative counter and not usable alone; enable process.cpu.utilization`,
    );
    out.reject(mem.points.length, `process ${name} on ${node}: process.memory.usage makes a sample only with process.cpu.utilization`);
    return;
  }
  if (cpuCount === undefined) {
    out.reject(
      cpu.points.length + mem.points.length,
      `process ${name} on ${node}: process.cpu.utilization is a share of all CPUs; send system.cpu.utilization or system.cpu.logical.count of the host in the same export`,
    );
    return;
  }
  const memReadings = new NearestReading(
    readingsOf(mem.points).map((r) => ({ timeMs: r[0]!.timeMs, bytes: r.reduce((s, p) => s + p.value, 0), units: r.length })),
  );
  for (const reading of readingsOf(cpu.points)) {
    const first = reading[0]!;
    const memory = memReadings.find(first.timeMs, first.timeslice * 1000);
    if (!memory) {
      out.reject(reading.length, `process ${name} on ${node}: process.cpu.utilization needs process.memory.usage in the same export`);
      continue;
    }
    const share = reading.reduce((sum, p) => sum + p.value, 0);
    out.addProcess(
      node,
      name,
      first.timeMs,
      first.timeslice,
      Math.max(0, share * cpuCount * 100),
      memory.bytes / (1024 * 1024),
      reading.length + memory.units,
    );
  }
}

/** One mapped resource, in the export's order: what its node part gave, and its process part to map at the end. */
type MappedResource =
  { node: undefined; unnamedPoints: number } | { node: string; nodePart: MappingBuilder | undefined; processPart: ProcessView | undefined };

/**
 * Maps an export's resources as they are decoded (add), then the whole (finish): the node
 * samples, process samples and rejections come out in the order of a mapping of the whole
 * request, resource by resource.
 */
export class OtlpMapper {
  private readonly resources: MappedResource[] = [];
  /** Logical CPUs per node, the largest any of its resources in this export gave. */
  private readonly cpuCounts = new Map<string, number>();

  constructor(private readonly options: OtlpMappingOptions) {}

  add(rm: OtlpResourceMetrics): void {
    const view = viewOf(rm);
    if (!view) return;
    const node = view.node;
    if (node === undefined) {
      this.resources.push({ node, unnamedPoints: countPoints(view, [...MAPPED]) });
      return;
    }
    // A process resource carries no host metric: it gives no CPU count and no node sample.
    let nodePart: MappingBuilder | undefined;
    if (HOST_METRICS.some((name) => view.metrics.has(name))) {
      const count = cpuCountOf(view, this.options);
      if (count > 0) this.cpuCounts.set(node, Math.max(this.cpuCounts.get(node) ?? 0, count));
      nodePart = new MappingBuilder();
      mapNode(view, node, this.options, nodePart);
    }
    this.resources.push({ node, nodePart, processPart: processViewOf(view, this.options) });
  }

  finish(): OtlpMapping {
    const out = new MappingBuilder();
    for (const resource of this.resources) {
      if (resource.node === undefined) {
        out.reject(
          resource.unnamedPoints,
          'a resource has neither host.name nor k8s.node.name (add the resourcedetection processor or a host resource detector)',
        );
        continue;
      }
      if (resource.nodePart) out.append(resource.nodePart);
      if (resource.processPart) mapProcess(resource.processPart, resource.node, this.cpuCounts.get(resource.node), out);
    }
    return { candidates: out.candidates, rejections: out.rejections };
  }
}

/** Maps a whole decoded request (OtlpMapper over its resources). */
export function mapMetricsRequest(request: OtlpMetricsRequest, options: OtlpMappingOptions): OtlpMapping {
  const mapper = new OtlpMapper(options);
  for (const rm of request.resourceMetrics ?? []) mapper.add(rm);
  return mapper.finish();
}

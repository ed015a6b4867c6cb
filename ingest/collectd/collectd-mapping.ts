/**
 * collectd write_http JSON (Format "JSON", StoreRates true) -> node and process samples (the
 * table in docs/AGENTS.md). Value lists of other plugins and types are ignored; values with
 * no rate yet (null) or without their counterpart in the same POST are skipped.
 */
import Ajv from 'ajv';
import { BadRequestError } from '../../shared/errors';
import { clampPercent, type Candidate } from '../agent-candidates';
import { NearestReading } from '../nearest-reading';

export interface ValueList {
  values: (number | null)[];
  dstypes: string[];
  dsnames: string[];
  time: number;
  interval: number;
  host: string;
  plugin: string;
  plugin_instance?: string;
  type: string;
  type_instance?: string;
}

const text = (max: number) => ({ type: 'string', maxLength: max });
const VALUE_LIST = {
  type: 'object',
  required: ['values', 'dstypes', 'dsnames', 'time', 'interval', 'host', 'plugin', 'type'],
  properties: {
    values: { type: 'array', maxItems: 64, items: { type: ['number', 'null'] } },
    dstypes: { type: 'array', maxItems: 64, items: text(32) },
    dsnames: { type: 'array', maxItems: 64, items: text(64) },
    time: { type: 'number', minimum: 0 },
    interval: { type: 'number', minimum: 0 },
    host: text(1024),
    plugin: text(128),
    plugin_instance: text(1024),
    type: text(128),
    type_instance: text(1024),
  },
};
const validateBody = new Ajv({ allowUnionTypes: true, strict: true }).compile<ValueList[]>({ type: 'array', items: VALUE_LIST });

/** Checks the body is collectd's JSON: an array of value lists; 400 otherwise. */
export function parseValueLists(body: unknown): ValueList[] {
  if (validateBody(body)) return body;
  const first = validateBody.errors?.[0];
  throw new BadRequestError(
    'INVALID_COLLECTD_JSON',
    'The body must be collectd write_http JSON: an array of value lists with values, dstypes, dsnames, time, interval, host, plugin and type.',
    first
      ? [{ field: first.instancePath || 'body', message: `${first.instancePath || 'body'} ${first.message ?? 'is invalid'}` }]
      : undefined,
  );
}

export interface CollectdMapping {
  candidates: Candidate[];
  /** Value lists of plugins or types that make no sample. */
  ignored: number;
  /** Value lists with no value yet (a rate's first reading) or without their counterpart in this POST. */
  skipped: number;
}

interface Reading {
  host: string;
  instance: string;
  timeMs: number;
  timeslice: number;
  lists: ValueList[];
}

/** Value lists of one host (and instance) read at one time. */
function group(lists: ValueList[], instanceOf: (v: ValueList) => string): Reading[] {
  const readings = new Map<string, Reading>();
  for (const v of lists) {
    const instance = instanceOf(v);
    const key = `${v.host}\u0000${instance}\u0000${v.time}`;
    const reading = readings.get(key);
    if (reading) reading.lists.push(v);
    else readings.set(key, { host: v.host, instance, timeMs: Math.round(v.time * 1000), timeslice: v.interval, lists: [v] });
  }
  return [...readings.values()];
}

/** Readings by host and instance, each searchable by time. */
class ReadingIndex {
  private readonly byKey = new Map<string, NearestReading<Reading>>();

  constructor(readings: readonly Reading[]) {
    const lists = new Map<string, Reading[]>();
    for (const r of readings) {
      const key = `${r.host}\u0000${r.instance}`;
      const list = lists.get(key);
      if (list) list.push(r);
      else lists.set(key, [r]);
    }
    for (const [key, list] of lists) this.byKey.set(key, new NearestReading(list));
  }

  /** The same host's (and instance's) reading nearest in time, within two intervals. */
  nearest(of: Reading): Reading | undefined {
    return this.byKey.get(`${of.host}\u0000${of.instance}`)?.find(of.timeMs, Math.max(of.timeslice, 1) * 2000);
  }
}

const first = (v: ValueList): number | null => v.values[0] ?? null;

/** Memory used in percent: the percent type (ValuesPercentage true), else from the byte values. */
function memoryPercent(reading: Reading): number | undefined {
  const percent = reading.lists.find((v) => v.type === 'percent' && v.type_instance === 'used');
  if (percent && first(percent) !== null) return clampPercent(first(percent)!);
  const bytes = reading.lists.filter((v) => v.type === 'memory' && first(v) !== null);
  const total = bytes.reduce((sum, v) => sum + first(v)!, 0);
  const used = bytes.find((v) => v.type_instance === 'used');
  return used && total > 0 ? clampPercent((first(used)! / total) * 100) : undefined;
}

function mapNodes(cpuLists: ValueList[], memoryLists: ValueList[], out: CollectdMapping): void {
  const memoryReadings = group(memoryLists, () => '');
  const memory = new ReadingIndex(memoryReadings.filter((r) => memoryPercent(r) !== undefined));
  const usedMemory = new Set<Reading>();
  // ReportByCpu false gives one reading per state; true gives one per CPU (plugin_instance), averaged here.
  for (const reading of group(cpuLists, () => '')) {
    const idle = reading.lists.filter((v) => v.type_instance === 'idle' && first(v) !== null);
    const cpus = new Set(reading.lists.map((v) => v.plugin_instance ?? '')).size;
    const mem = memory.nearest(reading);
    if (idle.length === 0 || !mem) {
      out.skipped += reading.lists.length;
      continue;
    }
    usedMemory.add(mem);
    const idlePercent = idle.reduce((sum, v) => sum + first(v)!, 0) / cpus;
    out.candidates.push({
      item: {
        node: reading.host,
        timeslice: reading.timeslice,
        at: reading.timeMs,
        cpu: clampPercent(100 - idlePercent),
        mem: memoryPercent(mem)!,
      },
      units: reading.lists.length + mem.lists.length,
    });
  }
  for (const r of memoryReadings) if (!usedMemory.has(r)) out.skipped += r.lists.length;
}

function mapProcesses(cputime: ValueList[], rss: ValueList[], out: CollectdMapping): void {
  const instance = (v: ValueList) => v.plugin_instance ?? '';
  const rssReadings = group(
    rss.filter((v) => first(v) !== null),
    instance,
  );
  const rssIndex = new ReadingIndex(rssReadings);
  out.skipped += rss.length - rssReadings.reduce((n, r) => n + r.lists.length, 0);
  const used = new Set<Reading>();
  for (const reading of group(cputime, instance)) {
    const v = reading.lists[0]!;
    // StoreRates: microseconds of CPU per second; the first reading of a process has no rate yet.
    const user = v.values[v.dsnames.indexOf('user')] ?? null;
    const system = v.values[v.dsnames.indexOf('syst')] ?? null;
    const mem = rssIndex.nearest(reading);
    if (user === null || system === null || !mem) {
      out.skipped += reading.lists.length;
      continue;
    }
    used.add(mem);
    out.candidates.push({
      item: {
        node: reading.host,
        process: reading.instance,
        timeslice: reading.timeslice,
        at: reading.timeMs,
        cpu_used: Math.max(0, (user + system) / 10_000),
        mem_used: first(mem.lists[0]!)! / (1024 * 1024),
      },
      units: reading.lists.length + mem.lists.length,
    });
  }
  for (const r of rssReadings) if (!used.has(r)) out.skipped += r.lists.length;
}

export function mapValueLists(lists: ValueList[]): CollectdMapping {
  const out: CollectdMapping = { candidates: [], ignored: 0, skipped: 0 };
  const cpu: ValueList[] = [];
  const memory: ValueList[] = [];
  const cputime: ValueList[] = [];
  const rss: ValueList[] = [];
  for (const v of lists) {
    if (v.plugin === 'cpu' && v.type === 'percent') cpu.push(v);
    else if (v.plugin === 'memory' && (v.type === 'percent' || v.type === 'memory')) memory.push(v);
    else if (v.plugin === 'processes' && v.plugin_instance && v.type === 'ps_cputime') cputime.push(v);
    else if (v.plugin === 'processes' && v.plugin_instance && v.type === 'ps_rss') rss.push(v);
    else out.ignored++;
  }
  mapNodes(cpu, memory, out);
  mapProcesses(cputime, rss, out);
  return out;
}

/**
 * Reads a V8 `.cpuprofile` (written by `node --cpu-prof`) and sums self time by function, by
 * package and by area (Koa, ioredis, crypto, prom-client, raw-body, our code, idle, GC, ...),
 * so the profiles before and after a change are summarised the same way.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

export interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface TimeShare {
  name: string;
  ms: number;
  /** Of all sampled time in the window. */
  percent: number;
  /** Of the time not idle. */
  busyPercent: number;
}

export interface ProfileSummary {
  windowMs: number;
  idleMs: number;
  busyMs: number;
  byArea: TimeShare[];
  /** Node core and native time charged to the nearest package or file of ours up the stack. */
  byCaller: TimeShare[];
  byPackage: TimeShare[];
  byFunction: TimeShare[];
}

/** Pseudo-frames V8 records without a script. */
const IDLE = '(idle)';
const GC = '(garbage collector)';
const PROGRAM = '(program)';
const ROOT_FRAME = '(root)';
const IDLE_AREA = 'idle (waiting: Redis, network)';

/** Packages by the area of the request path they belong to; anything else is "other packages". */
const AREAS: [area: string, packages: RegExp][] = [
  [
    'Koa (koa, @koa/router and their dependencies)',
    /^(koa|koa-.*|@koa\/.*|delegates|on-finished|ee-first|accepts|type-is|cookies|vary|escape-html|encodeurl|destroy|http-assert|only|fresh|content-disposition|statuses|http-errors|depd|path-to-regexp|negotiator|mime-types|mime-db|media-typer|content-type|setprototypeof|toidentifier|inherits)$/,
  ],
  ['ioredis', /^(ioredis|@ioredis\/.*|redis-parser|redis-errors|denque|cluster-key-slot|standard-as-callback|debug|ms|lodash\..*)$/],
  ['prom-client', /^(prom-client|tdigest|bintrees)$/],
  ['raw-body', /^(raw-body|iconv-lite|bytes|unpipe|safer-buffer)$/],
  ['ajv (validation)', /^(ajv|fast-uri|fast-deep-equal|json-schema-traverse|require-from-string)$/],
  [
    'pino (logging)',
    /^(pino|pino-.*|sonic-boom|thread-stream|on-exit-leak-free|quick-format-unescaped|atomic-sleep|fast-redact|safe-stable-stringify)$/,
  ],
];

/** Where a frame's code lives: an npm package, a Node core module, a file of ours, or V8 itself. */
export function packageOf(url: string, root: string): string {
  if (url === '') return '(V8 / native)';
  if (url.startsWith('node:')) {
    const path = url.slice('node:'.length);
    if (path.startsWith('internal/crypto/random')) return 'node:crypto randomBytes';
    // node:internal/streams/readable -> node:internal/streams
    return `node:${path
      .split('/')
      .slice(0, path.startsWith('internal/') ? 2 : 1)
      .join('/')}`;
  }
  const file = url.startsWith('file://') ? fileURLToPath(url) : url;
  const inModules = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(file.slice(file.lastIndexOf('node_modules/')));
  if (file.includes('node_modules/') && inModules) return inModules[1]!;
  const local = relative(root, file);
  return local.startsWith('..') ? file : `ours: ${local}`;
}

export function areaOf(pkg: string): string {
  if (pkg.startsWith('ours: ')) return 'our code';
  if (pkg === 'node:crypto randomBytes') return 'crypto randomBytes';
  if (pkg.startsWith('node:')) return 'Node core (HTTP, net, streams, timers, ...)';
  if (pkg === '(V8 / native)') return 'V8 / native';
  for (const [area, packages] of AREAS) if (packages.test(pkg)) return area;
  return 'other packages';
}

/** A directory stands for the newest profile in it (`--cpu-prof-dir` names files by time). */
export function profileFile(path: string): string {
  if (!statSync(path).isDirectory()) return path;
  const newest = readdirSync(path)
    .filter((name) => name.endsWith('.cpuprofile'))
    .sort()
    .pop();
  if (!newest) throw new Error(`no .cpuprofile in ${path}`);
  return join(path, newest);
}

export function readCpuProfile(path: string): CpuProfile {
  return JSON.parse(readFileSync(path, 'utf8')) as CpuProfile;
}

export interface WindowOptions {
  /** Leave out the first seconds of the profile (start-up, warm-up). */
  skipSeconds?: number;
  /** Then take only the busiest span of this length (least idle), e.g. the load run. */
  windowSeconds?: number;
  /** Or exactly this span, in process.hrtime microseconds (V8 stamps samples on the same monotonic clock). */
  betweenUs?: [number, number];
}

/** The sample range [from, to) the summary covers. */
function sampleWindow(profile: CpuProfile, durations: number[], idleIds: Set<number>, options: WindowOptions): [number, number] {
  const n = profile.samples.length;
  const stamps: number[] = [];
  let t = profile.startTime;
  for (const delta of profile.timeDeltas) stamps.push((t += delta));
  if (options.betweenUs) {
    const [fromUs, toUs] = options.betweenUs;
    const from = stamps.findIndex((s) => s >= fromUs);
    const to = stamps.findIndex((s) => s > toUs);
    return [from === -1 ? n : from, to === -1 ? n : to];
  }
  const skipUntil = profile.startTime + (options.skipSeconds ?? 0) * 1e6;
  const first = Math.max(
    0,
    stamps.findIndex((s) => s >= skipUntil),
  );
  if (!options.windowSeconds) return [first, n];
  const span = options.windowSeconds * 1e6;
  let best: [number, number] = [first, n];
  let bestBusy = -1;
  let start = first;
  let elapsed = 0;
  let busy = 0;
  for (let end = first; end < n; end++) {
    elapsed += durations[end]!;
    if (!idleIds.has(profile.samples[end]!)) busy += durations[end]!;
    while (elapsed - durations[start]! >= span) {
      elapsed -= durations[start]!;
      if (!idleIds.has(profile.samples[start]!)) busy -= durations[start]!;
      start++;
    }
    if (elapsed >= span * 0.99 && busy > bestBusy) {
      bestBusy = busy;
      best = [start, end + 1];
    }
  }
  return best;
}

function shares(totals: Map<string, number>, windowUs: number, busyUs: number, top?: number): TimeShare[] {
  return [...totals]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([name, us]) => ({
      name,
      ms: us / 1000,
      percent: (us / windowUs) * 100,
      busyPercent: name === IDLE || name === IDLE_AREA ? 0 : (us / busyUs) * 100,
    }));
}

export function summarizeProfile(profile: CpuProfile, root: string, options: WindowOptions & { top: number }): ProfileSummary {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parentOf = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node.id);
  const idleIds = new Set(profile.nodes.filter((node) => node.callFrame.functionName === IDLE).map((node) => node.id));

  // Sample i lasts until sample i+1 (as Chrome DevTools counts it).
  const deltas = profile.timeDeltas;
  const durations = profile.samples.map((_, i) => Math.max(0, deltas[i + 1] ?? 0));
  const [from, to] = sampleWindow(profile, durations, idleIds, options);

  // A native frame (no script: a binding, a builtin, a RegExp) counts towards the package of
  // its nearest JavaScript caller, so `writev` under net is Node core, a RegExp under koa is Koa.
  const packageMemo = new Map<number, string>();
  const packageOfNode = (id: number): string => {
    const known = packageMemo.get(id);
    if (known !== undefined) return known;
    const { functionName, url } = byId.get(id)!.callFrame;
    let pkg: string;
    if (functionName === IDLE || functionName === GC || functionName === PROGRAM || functionName === ROOT_FRAME) pkg = functionName;
    else if (url !== '') pkg = packageOf(url, root);
    else {
      const parent = parentOf.get(id);
      const callerPkg = parent === undefined ? ROOT_FRAME : packageOfNode(parent);
      pkg = callerPkg === ROOT_FRAME || callerPkg === PROGRAM ? '(V8 / native)' : callerPkg;
    }
    packageMemo.set(id, pkg);
    return pkg;
  };

  // Whom Node core worked for: `writev` under ioredis' flush is ioredis, under Koa's respond is Koa.
  const callerMemo = new Map<number, string>();
  const callerAreaOf = (id: number): string => {
    const known = callerMemo.get(id);
    if (known !== undefined) return known;
    const pkg = packageOfNode(id);
    const parent = parentOf.get(id);
    let area: string;
    if (pkg === IDLE) area = IDLE_AREA;
    else if (pkg === GC) area = 'garbage collection';
    else if (pkg === PROGRAM) area = 'V8 / native';
    else if (pkg === 'node:crypto randomBytes' || (!pkg.startsWith('node:') && !pkg.startsWith('('))) area = areaOf(pkg);
    else if (parent === undefined || packageOfNode(parent) === ROOT_FRAME) area = 'Node core alone (HTTP parsing, sockets, timers)';
    else area = callerAreaOf(parent);
    callerMemo.set(id, area);
    return area;
  };

  const byFunction = new Map<string, number>();
  const byCaller = new Map<string, number>();
  const byPackage = new Map<string, number>();
  const byArea = new Map<string, number>();
  const add = (map: Map<string, number>, key: string, us: number) => map.set(key, (map.get(key) ?? 0) + us);
  let windowUs = 0;
  let idleUs = 0;
  for (let i = from; i < to; i++) {
    const id = profile.samples[i]!;
    const us = durations[i]!;
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
    const pkg = packageOfNode(id);
    windowUs += us;
    if (idleIds.has(id)) idleUs += us;
    const where = url === '' ? pkg.replace(/^ours: /, '') : `${packageOf(url, root).replace(/^ours: /, '')}:${lineNumber + 1}`;
    const special = functionName.startsWith('(') && url === '';
    add(byFunction, special ? functionName : `${functionName || '(anonymous)'} (${where})`, us);
    add(byCaller, callerAreaOf(id), us);
    add(byPackage, pkg, us);
    add(byArea, pkg === IDLE ? IDLE_AREA : pkg === GC ? 'garbage collection' : pkg === PROGRAM ? 'V8 / native' : areaOf(pkg), us);
  }
  const busyUs = windowUs - idleUs;
  return {
    windowMs: windowUs / 1000,
    idleMs: idleUs / 1000,
    busyMs: busyUs / 1000,
    byArea: shares(byArea, windowUs, busyUs),
    byCaller: shares(byCaller, windowUs, busyUs),
    byPackage: shares(byPackage, windowUs, busyUs, options.top),
    byFunction: shares(byFunction, windowUs, busyUs, options.top),
  };
}

/** The summary as Markdown tables; with `perCount` (requests or samples), also the time per one. */
export function renderProfileSummary(summary: ProfileSummary, title: string, perCount?: { count: number; unit: string }): string {
  const fixed = (v: number, digits = 1) => v.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
  const perHeader = perCount ? ` µs per ${perCount.unit} |` : '';
  const perRule = perCount ? '---|' : '';
  const per = (share: TimeShare) => (perCount ? ` ${fixed((share.ms * 1000) / perCount.count, 2)} |` : '');
  const table = (label: string, rows: TimeShare[]) => [
    `| ${label} | self ms | % of window | % of busy |${perHeader}`,
    `|---|---|---|---|${perRule}`,
    ...rows.map(
      (s) =>
        `| ${s.name.replace(/\|/g, '\\|')} | ${fixed(s.ms)} | ${fixed(s.percent)} | ${s.busyPercent ? fixed(s.busyPercent) : ''} |${per(s)}`,
    ),
  ];
  return [
    `### ${title}`,
    '',
    `Window ${fixed(summary.windowMs / 1000, 2)} s: busy ${fixed(summary.busyMs)} ms, idle ${fixed(summary.idleMs)} ms (${fixed((summary.idleMs / summary.windowMs) * 100)} %).` +
      (perCount ? ` ${perCount.count.toLocaleString('en-US')} ${perCount.unit}s in it.` : '') +
      ' Times are wall time between samples: on a busy machine they include waiting for a core (read shares here, CPU from /proc).',
    '',
    ...table('area', summary.byArea),
    '',
    ...table('area, Node core charged to its caller', summary.byCaller),
    '',
    ...table('package (natives count towards their caller)', summary.byPackage),
    '',
    ...table('function (self time)', summary.byFunction),
    '',
  ].join('\n');
}

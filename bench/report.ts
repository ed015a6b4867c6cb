/** Renders benchmark results as the Markdown tables of docs/BENCHMARKS.md: one column per configuration, goal and baseline beside each figure. */
import type { ConfigResult } from './configuration';
import { percentile } from '../cli/load/percentile';
import type { ServiceRole } from '../launcher/service-node-flags';
import type { MachineLoad } from './machine-load';
import type { PhaseCost } from './phase-cost';
import type { Visibility } from './visibility-probe';
import type { ApplyDelays } from './apply-delay';
import type { LoadReport } from '../cli/load/open-loop';
import { REALTIME_PRIORITY, REDIS_REALTIME_PRIORITY, type RealtimeProcess } from './realtime';

export interface BenchOutput {
  started: string;
  seconds: number;
  machine: Record<string, string>;
  /** The Node flags ingest and the workers ran with. */
  serviceNodeFlags: Readonly<Record<ServiceRole, readonly string[]>>;
  /** The processes run under the real-time FIFO scheduler (`--realtime`; absent in older results). */
  realtime?: readonly RealtimeProcess[];
  /** `--load-maximum`: the rate the freshness and query loads were fractions of, when not each run's own batch figure. */
  loadMaximum?: number;
  results: ConfigResult[];
}

const n = (v: number | null | undefined, digits = 0) =>
  v === null || v === undefined || !Number.isFinite(v)
    ? '-'
    : v.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
const ms = (v: number | null | undefined) => (v === null || v === undefined ? '-' : `${n(v, v < 10 ? 2 : 1)}`);
const below = (v: number | null | undefined, limit: number) => (v === null || v === undefined || !Number.isFinite(v) ? null : v < limit);
const pair = (a: number | null | undefined, b: number | null | undefined) => `${ms(a)} / ${ms(b)} ms`;
const machineLoad = (load: MachineLoad | null | undefined) =>
  load ? `${n(load.busyPercent, 1)} %, ${n(load.runnableMean, 1)} runnable on ${load.cores} cores` : '-';
/** Older results files have no generator lateness. */
const sentLate = (report: LoadReport) =>
  report.sent_late_ms ? `${n(report.sent_late_ms.p99, 1)} / ${n(report.sent_late_ms.max, 1)} ms` : '-';
/** Older results files have no visibility probe. */
const visibility = (v: Visibility | undefined) => (v ? `${pair(v.p50, v.p99)} (${n(v.count)}, ${n(v.errors)})` : '-');
/** Older results files have no apply delays; the quantiles are interpolated within the histogram's buckets. */
const applyDelays = (d: ApplyDelays | undefined) => (d ? `${pair(d.p50Ms, d.p99Ms)} (${n(d.entries)})` : '-');
const SENT_LATE_FIGURE =
  "  the generator's own lateness, p99 / max: how late it sent its batches against its timetable (in the batch POST latency)";
/** Each process's share of the phase on a core / waiting for one (percent). */
const coreWaits = (load: MachineLoad | null | undefined) =>
  load?.processes?.length ? load.processes.map((p) => `${p.name} ${n(p.runningPercent, 0)} / ${n(p.waitingPercent, 0)} %`).join(', ') : '-';
const WAITS_FIGURE = '  each process meanwhile: share of the phase on a core / waiting for one';

const median = (values: readonly number[]) =>
  percentile(
    [...values].sort((a, b) => a - b),
    50,
  );
/** Per round a / b, as "median (each round)". */
const roundRatios = <T>(rounds: T | undefined, pick: (rounds: T) => [readonly number[], readonly number[]]) => {
  if (rounds === undefined) return '-';
  const [a, b] = pick(rounds);
  const ratios = a.map((v, i) => v / b[i]!);
  return `${n(median(ratios), 2)} (${ratios.map((v) => n(v, 2)).join(', ')})`;
};

interface Row {
  figure: string;
  goal: string;
  value(r: ConfigResult): string;
  /** Whether the figure meets the goal (marked ✓ / ✗ in the cell); absent when the goal is not a number. */
  meets?(r: ConfigResult): boolean | null;
  /** The number compared across configurations ("x1.4 vs first column"). */
  key?(r: ConfigResult): number | null;
}

const us = (v: number, digits: number) => `${n(v, digits)} µs`;

/** The CPU rows of one phase: Redis (with its goal), ingest and the workers, per sample. */
function costRows(phase: (r: ConfigResult) => PhaseCost, digits: number, redisGoalUs?: number): Row[] {
  return [
    {
      figure: '  Redis CPU per sample (INFO cpu over the phase / samples accepted; of it used_cpu_sys, in the kernel)',
      goal: redisGoalUs === undefined ? '' : `<= ${redisGoalUs} µs`,
      value: (r) =>
        `${us(phase(r).redisUsPerSample, digits)} (${n(phase(r).redisCorePercent)} % of a core; in the kernel ${us(phase(r).redisSysUsPerSample, digits)})`,
      meets: (r) =>
        redisGoalUs === undefined || !Number.isFinite(phase(r).redisUsPerSample) ? null : phase(r).redisUsPerSample <= redisGoalUs,
      key: (r) => phase(r).redisUsPerSample,
    },
    {
      figure: '  ingest CPU per sample',
      goal: '',
      value: (r) => us(phase(r).ingestUsPerSample, digits),
      key: (r) => phase(r).ingestUsPerSample,
    },
    {
      figure: '  worker CPU per sample (all workers)',
      goal: '',
      value: (r) => us(phase(r).workerUsPerSample, digits),
      key: (r) => phase(r).workerUsPerSample,
    },
  ];
}

/** A batch phase's last rows: the machine and each process while it was loaded, and its exactness. */
function batchEndRows(phase: (r: ConfigResult) => { load: ConfigResult['batch']['load']; exact: boolean }): Row[] {
  return [
    {
      figure: '  the machine while the batches were posted: CPU busy, runnable processes',
      goal: '',
      value: (r) => machineLoad(phase(r).load),
    },
    { figure: WAITS_FIGURE, goal: '', value: (r) => coreWaits(phase(r).load) },
    {
      figure: '  aggregates count exactly the accepted',
      goal: 'yes',
      value: (r) => (phase(r).exact ? 'yes' : '**NO**'),
      meets: (r) => phase(r).exact,
    },
  ];
}

/** Two figures of a phase as "a / b"; older results files have neither. */
const slashPair = (a: number | undefined, b: number | undefined, digits: number) =>
  a === undefined ? '-' : `${n(a, digits)} / ${n(b, digits)}`;

/** The single-POST phase's Redis CPU split: its round trips at the price of a PING's, and the rest. */
const roundTripRows: Row[] = [
  {
    figure: "  &nbsp;&nbsp;Redis's reads of client connections / writes to them, per sample (requests arriving: round trips; replies)",
    goal: '',
    value: (r) => slashPair(r.singlePost.cost.redisReadsPerSample, r.singlePost.cost.redisWritesPerSample, 3),
  },
  {
    figure: '  &nbsp;&nbsp;bytes Redis received / sent per sample (requests; replies)',
    goal: '',
    value: (r) => slashPair(r.singlePost.cost.redisBytesInPerSample, r.singlePost.cost.redisBytesOutPerSample, 0),
  },
  {
    figure:
      "  &nbsp;&nbsp;baseline: a round trip's Redis CPU (redis-benchmark PING from one connection, one at a time; of it in the kernel)",
    goal: '',
    value: (r) => {
      const price = r.singlePost.roundTrip;
      return price ? `${us(price.usPerRoundTrip, 1)} (${us(price.sysUsPerRoundTrip, 1)})` : '-';
    },
  },
  {
    figure:
      '  &nbsp;&nbsp;Redis CPU per sample in its round trips at that price / the rest (beyond a bare round trip: the commands, their arguments and replies)',
    goal: '',
    value: (r) => {
      const { roundTrip: price, cost } = r.singlePost;
      if (!price || cost.redisReadsPerSample === undefined) return '-';
      const inRoundTrips = cost.redisReadsPerSample * price.usPerRoundTrip;
      return `${us(inRoundTrips, 1)} / ${us(cost.redisUsPerSample - inRoundTrips, 1)}`;
    },
  },
];

const ROWS: Row[] = [
  {
    figure: 'single-sample POSTs/s (service)',
    goal: '',
    value: (r) => n(r.singlePost.service.requestsPerSecond),
    key: (r) => r.singlePost.service.requestsPerSecond,
  },
  { figure: '  baseline: bare Koa JSON handler, same wrk script', goal: '', value: (r) => n(r.singlePost.bare.requestsPerSecond) },
  { figure: '  ratio', goal: '>= 0.7', value: (r) => n(r.singlePost.ratio, 2), meets: (r) => r.singlePost.ratio >= 0.7 },
  {
    figure: '  the ratio again after the phase, in 3 rounds each followed by one of the bare handler: median (each round)',
    goal: '',
    value: (r) => roundRatios(r.singlePost.alternated, (d) => [d.requestsPerSecond, d.bareRequestsPerSecond]),
  },
  {
    figure:
      "  baseline: the bare handler behind ingest's middleware and write routes (Koa, @koa/router; pass-throughs), 3 rounds alternated with the bare handler: requests/s (median)",
    goal: '',
    value: (r) => (r.singlePost.dispatch ? n(median(r.singlePost.dispatch.requestsPerSecond)) : '-'),
  },
  {
    figure: "  &nbsp;&nbsp;its ratio to the bare handler's round (what the dispatch alone leaves): median (each round)",
    goal: '',
    value: (r) => roundRatios(r.singlePost.dispatch, (d) => [d.requestsPerSecond, d.bareRequestsPerSecond]),
  },
  {
    figure: "  &nbsp;&nbsp;its CPU per request over the bare handler's: median (each round)",
    goal: '',
    value: (r) => roundRatios(r.singlePost.dispatch, (d) => [d.usPerRequest, d.bareUsPerRequest]),
  },
  {
    figure: '  CPU per request: bare handler / ingest (each process, all threads)',
    goal: '',
    value: (r) =>
      r.singlePost.bareUsPerRequest === undefined
        ? '-'
        : `${n(r.singlePost.bareUsPerRequest, 1)} / ${n(r.singlePost.cost.ingestUsPerSample, 1)} µs`,
  },
  {
    figure: "  the ratio's parts: bare over ingest CPU per request x the rest (a core's share: waits, idling)",
    goal: '',
    value: (r) => {
      const bareUs = r.singlePost.bareUsPerRequest;
      if (bareUs === undefined) return '-';
      const cpu = bareUs / r.singlePost.cost.ingestUsPerSample;
      return `${n(cpu, 2)} x ${n(r.singlePost.ratio / cpu, 2)}`;
    },
  },
  {
    figure: '  non-2xx / socket errors (service)',
    goal: '0',
    value: (r) => `${r.singlePost.service.non2xx} / ${r.singlePost.service.errors}`,
  },
  ...costRows((r) => r.singlePost.cost, 1, 8),
  ...roundTripRows,
  {
    figure: "  a single POST's visibility meanwhile: p50 / p99 from its 202 to a `?after=` query's answer (probes, errors)",
    goal: '',
    value: (r) => visibility(r.singlePost.visibility),
  },
  { figure: '  the machine during the service run: CPU busy, runnable processes', goal: '', value: (r) => machineLoad(r.singlePost.load) },
  { figure: WAITS_FIGURE, goal: '', value: (r) => coreWaits(r.singlePost.load) },
  { figure: '  the machine during the bare handler run', goal: '', value: (r) => machineLoad(r.singlePost.bareLoad) },
  { figure: WAITS_FIGURE, goal: '', value: (r) => coreWaits(r.singlePost.bareLoad) },
  {
    figure: '1,000-sample NDJSON batches from wrk (`-c8`, `bench/post-batch.lua`), samples/s accepted until drained',
    goal: '',
    value: (r) => n(r.wrkBatch.samplesPerSecond),
    key: (r) => r.wrkBatch.samplesPerSecond,
  },
  ...costRows((r) => r.wrkBatch.cost, 2, 1.5),
  {
    figure: 'batch ingest (synthetic fleet) from wrk (`-c4`, `bench/post-fleet.lua`), samples/s aggregated end to end',
    goal: '',
    value: (r) => n(r.fleetBatchFromWrk.samplesPerSecond),
    key: (r) => r.fleetBatchFromWrk.samplesPerSecond,
  },
  { figure: '  baseline: redis-benchmark pipelined XADD/s', goal: '', value: (r) => n(r.batch.xaddPerSecond) },
  {
    figure: '  ratio',
    goal: '>= 0.4',
    value: (r) => n(r.fleetBatchFromWrk.ratio, 2),
    meets: (r) => r.fleetBatchFromWrk.ratio >= 0.4,
  },
  { figure: '  non-2xx answers', goal: '0', value: (r) => n(r.fleetBatchFromWrk.non2xx), meets: (r) => r.fleetBatchFromWrk.non2xx === 0 },
  ...costRows((r) => r.fleetBatchFromWrk.cost, 2),
  ...batchEndRows((r) => r.fleetBatchFromWrk),
  {
    figure: 'the same from 4 Node senders (fetch, in the benchmark), samples/s aggregated end to end',
    goal: '',
    value: (r) => n(r.batch.samplesPerSecond),
    key: (r) => r.batch.samplesPerSecond,
  },
  {
    figure: '  ratio to pipelined XADD (freshness and queries load half and a quarter of this rate)',
    goal: '',
    value: (r) => n(r.batch.ratio, 2),
  },
  ...costRows((r) => r.batch.cost, 2),
  ...batchEndRows((r) => r.batch),
  {
    figure: 'OTLP protobuf batch ingest, samples/s aggregated end to end',
    goal: '',
    value: (r) => (r.otlp ? n(r.otlp.samplesPerSecond) : '-'),
    key: (r) => r.otlp?.samplesPerSecond ?? null,
  },
  { figure: '  data points/s', goal: '', value: (r) => (r.otlp ? n(r.otlp.pointsPerSecond) : '-') },
  { figure: '  ratio to the JSON batches from Node senders', goal: '', value: (r) => (r.otlp ? n(r.otlp.ratio, 2) : '-') },
  {
    figure: '  answers (status: count); aggregates count exactly the accepted',
    goal: 'yes',
    value: (r) =>
      r.otlp
        ? `${Object.entries(r.otlp.statuses)
            .map(([status, count]) => `${status}: ${n(count)}`)
            .join(', ')}; ${r.otlp.exact ? 'yes' : '**NO**'}`
        : '-',
  },
  {
    figure: 'freshness p50 / p99 at half the maximum',
    goal: 'p99 < 50 ms',
    value: (r) => pair(r.freshness.report.freshness_ms.p50, r.freshness.report.freshness_ms.p99),
    meets: (r) => below(r.freshness.report.freshness_ms.p99, 50),
    key: (r) => r.freshness.report.freshness_ms.p99,
  },
  {
    figure: "  the workers' own: append to applied p50 / p99 (nodeagg_apply_delay_seconds, entries)",
    goal: '',
    value: (r) => applyDelays(r.freshness.applyDelays),
  },
  {
    figure: '  offered rate (accepted / offered samples)',
    goal: '',
    value: (r) => `${n(r.freshness.rate)}/s (${n(r.freshness.report.samples.accepted)} / ${n(r.freshness.report.samples.offered)})`,
  },
  {
    figure: '  batch POST latency p50 / p99 at that rate',
    goal: '',
    value: (r) => pair(r.freshness.report.latency_ms.p50, r.freshness.report.latency_ms.p99),
  },
  {
    figure: '  the machine meanwhile: CPU busy (all cores), runnable processes (mean)',
    goal: '',
    value: (r) => machineLoad(r.freshness.load),
  },
  { figure: WAITS_FIGURE, goal: '', value: (r) => coreWaits(r.freshness.load) },
  { figure: SENT_LATE_FIGURE, goal: '', value: (r) => sentLate(r.freshness.report) },
  {
    figure: '  freshness p50 / p99 at a tenth of the maximum',
    goal: '',
    value: (r) => `${pair(r.freshness.lowReport.freshness_ms.p50, r.freshness.lowReport.freshness_ms.p99)} at ${n(r.freshness.lowRate)}/s`,
  },
  {
    figure: "  the workers' own at a tenth",
    goal: '',
    value: (r) => applyDelays(r.freshness.lowApplyDelays),
  },
  {
    figure: '  the machine meanwhile',
    goal: '',
    value: (r) => machineLoad(r.freshness.lowLoad),
  },
  { figure: WAITS_FIGURE, goal: '', value: (r) => coreWaits(r.freshness.lowLoad) },
  { figure: SENT_LATE_FIGURE, goal: '', value: (r) => sentLate(r.freshness.lowReport) },
  {
    figure: 'query `nodes/average?timeslice=3600` p50 / p99',
    goal: 'p99 < 5 ms',
    value: (r) => pair(r.query.average.p50Ms, r.query.average.p99Ms),
    meets: (r) => below(r.query.average.p99Ms, 5),
    key: (r) => r.query.average.p99Ms,
  },
  {
    figure: 'query `processes/nginx` p50 / p99',
    goal: 'p99 < 5 ms',
    value: (r) => pair(r.query.process.p50Ms, r.query.process.p99Ms),
    meets: (r) => below(r.query.process.p99Ms, 5),
    key: (r) => r.query.process.p99Ms,
  },
  { figure: '  baseline: bare Koa GET p50 / p99', goal: '', value: (r) => pair(r.query.bareGet.p50Ms, r.query.bareGet.p99Ms) },
  {
    figure: '  the machine during the first query: CPU busy (all cores), runnable processes (mean)',
    goal: '',
    value: (r) => machineLoad(r.query.load),
  },
  { figure: WAITS_FIGURE, goal: '', value: (r) => coreWaits(r.query.load) },
  {
    figure: '  nodes loaded; ingest meanwhile (accepted / offered)',
    goal: '',
    value: (r) => `${n(r.config.queryNodes)}; ${n(r.query.ingestRate)}/s (${n(r.query.ingestAccepted)} / ${n(r.query.ingestOffered)})`,
  },
  {
    figure: 'Redis bytes per node (all keys, stream included)',
    goal: '',
    value: (r) => n(r.memory.perNodeBytes),
    key: (r) => r.memory.perNodeBytes,
  },
  { figure: '  without the stream (aggregates only)', goal: '', value: (r) => n(r.memory.perNodeAggregateBytes) },
  {
    figure: 'Redis bytes per retained sample (aggregates)',
    goal: '',
    value: (r) => `${n(r.memory.perSampleBytes, 1)} (${n(r.memory.samplesRetained)} samples)`,
    key: (r) => r.memory.perSampleBytes,
  },
  { figure: 'ingest peak RSS', goal: 'not above before', value: (r) => `${n(r.rss.ingestMb, 1)} MB`, key: (r) => r.rss.ingestMb },
  {
    figure: 'worker peak RSS',
    goal: 'not above before',
    value: (r) => r.rss.workerMb.map((m) => `${n(m, 1)} MB`).join(', '),
    key: (r) => Math.max(...r.rss.workerMb.map((m) => m ?? 0)),
  },
  { figure: '  baseline: bare Koa peak RSS', goal: '', value: (r) => `${n(r.rss.bareMb, 1)} MB` },
  { figure: 'CPU busy during the configuration (all cores)', goal: '', value: (r) => (r.cpu ? `${n(r.cpu.machineBusy, 1)} %` : '-') },
  { figure: '  of which other processes (not the benchmark)', goal: 'near 0', value: (r) => (r.cpu ? `${n(r.cpu.foreign, 1)} %` : '-') },
];

/** Where Redis spends its time per phase: the costliest commands, as calls per sample and time per call. */
function commandTable(results: ConfigResult[], title: string, phase: (r: ConfigResult) => PhaseCost, rows = 10): string[] {
  const names = [...new Set(results.flatMap((r) => (phase(r).commands ?? []).slice(0, rows).map((c) => c.command)))];
  if (names.length === 0) return [];
  const cell = (r: ConfigResult, name: string) => {
    const cost = phase(r);
    const stat = cost.commands?.find((c) => c.command === name);
    return stat ? `${n((stat.calls * 1000) / cost.samples, 1)} / ${n(stat.usecPerCall, 2)}` : '-';
  };
  return [
    `${title}: calls per 1,000 samples / µs per call (INFO commandstats; its time is wall time inside Redis, so it grows on a busy machine)`,
    '',
    `| command | ${results.map((r) => r.config.label).join(' | ')} |`,
    `|---|${results.map(() => '---|').join('')}`,
    ...names.map((name) => `| ${name.toUpperCase()} | ${results.map((r) => cell(r, name)).join(' | ')} |`),
    '',
  ];
}

/** Which processes ran real-time, and per configuration how many of each pipeline process's threads did at the end. */
function realtimeLine(output: BenchOutput): string {
  if (!output.realtime?.length) return 'none (every process at normal priority)';
  const threads = output.results.map(
    (r) => `${r.config.label}: ${(r.threads ?? []).map((t) => `${t.name} ${t.fifo} of ${t.threads}`).join(', ')}`,
  );
  return `${output.realtime.join(', ')}; threads under it at the end: ${threads.join('; ')}`;
}

export function renderMarkdown(output: BenchOutput): string {
  const results = output.results;
  const first = results[0];
  const header = `| figure | goal | ${results.map((r) => r.config.label).join(' | ')} |`;
  const rule = `|---|---|${results.map(() => '---|').join('')}`;
  const rows = ROWS.map((row) => {
    const cells = results.map((r, i) => {
      const met = row.meets?.(r);
      const value = `${row.value(r)}${met === true ? ' ✓' : met === false ? ' ✗' : ''}`;
      if (i === 0 || !row.key || !first) return value;
      const base = row.key(first);
      const here = row.key(r);
      return base && here !== null ? `${value} (x${n(here / base, 2)})` : value;
    });
    return `| ${row.figure.replace(/^ {2}/, '&nbsp;&nbsp;')} | ${row.goal} | ${cells.join(' | ')} |`;
  });
  const machine = Object.entries(output.machine)
    .map(([k, v]) => `- ${k}: ${v}`)
    .join('\n');
  return [
    `## Run of ${output.started}`,
    '',
    `Command: \`npm run bench -- --seconds ${output.seconds}${output.realtime?.length ? ` --realtime ${output.realtime.join(',')}` : ''}${
      output.loadMaximum === undefined ? '' : ` --load-maximum ${output.loadMaximum}`
    }\``,
    '',
    machine,
    ...(['ingest', 'worker'] as const).map((role) => `- ${role} Node flags: ${output.serviceNodeFlags[role].join(' ') || '(none)'}`),
    `- real-time (SCHED_FIFO, every thread; Redis ${REDIS_REALTIME_PRIORITY}, Node ${REALTIME_PRIORITY}): ${realtimeLine(output)}`,
    '',
    header,
    rule,
    ...rows,
    '',
    '(xN) = this figure relative to the first column; ✓ / ✗ = the goal met / missed in this run.',
    '',
    ...commandTable(results, 'Redis commands during the single-POST phase', (r) => r.singlePost.cost),
    ...commandTable(results, 'Redis commands during the NDJSON batches from wrk', (r) => r.wrkBatch.cost),
    ...commandTable(results, 'Redis commands during the batch phase (synthetic fleet, end to end)', (r) => r.batch.cost),
  ].join('\n');
}

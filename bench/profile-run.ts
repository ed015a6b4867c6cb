/**
 * `npm run bench:profile`: the profile of the hot path in one command. A private Redis, one
 * ingest under `node --cpu-prof` and one worker (4 partitions, LOG_LEVEL=warn, the API open as
 * in the by-hand figures of docs/BENCHMARKS.md); then single-sample POSTs (`wrk -c50`,
 * bench/post.lua), 1,000-sample NDJSON batches (`wrk -c8`, bench/post-batch.lua) and OTLP protobuf
 * exports (4 senders, the exports of the benchmark's OTLP phase; ingest's peak RSS too). Per phase:
 * requests/s, Redis, ingest and worker CPU per sample, INFO commandstats, and the ingest
 * profile's self time over exactly the wrk run, by area, package and function. Last, the bare Koa
 * handler under the single-POST run, profiled the same way: the baseline's own cost per request.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import Redis from 'ioredis';
import { Command, Option } from 'commander';
import { profileFile, readCpuProfile, renderProfileSummary, summarizeProfile, type ProfileSummary } from './cpu-profile';
import { describeMachine } from './machine';
import { drain } from './measure';
import { PhaseCostMeter, probeOf, type PhaseCost, type PhaseProbe } from './phase-cost';
import { processCpuUs } from './process-cpu';
import { fixed } from './fixed-digits';
import { ROOT, startServices } from './services';
import { otlpPhaseFleet } from './configuration';
import { otlpClosedLoop, type OtlpLoopResult } from './otlp-fleet';
import { PeakRss } from './peak-rss';
import { requireTools, wrk, type WrkResult } from './tools';

interface PhasePlan {
  name: string;
  script: string;
  connections: number;
  samplesPerRequest: number;
}

interface PhaseResult extends PhasePlan {
  wrk: WrkResult;
  cost: PhaseCost;
  /** The wrk run on the monotonic clock V8 stamps profile samples with, µs. */
  betweenUs: [number, number];
  profile?: ProfileSummary;
}

const log = (line: string) => process.stderr.write(`[bench:profile] ${line}\n`);
const monotonicUs = () => Number(process.hrtime.bigint() / 1000n);

async function runPhase(plan: PhasePlan, ingestUrl: string, probe: PhaseProbe, seconds: number): Promise<PhaseResult> {
  const options = { connections: plan.connections, script: plan.script, token: probe.token };
  log(`${plan.name}: wrk -t1 -c${plan.connections} -s bench/${plan.script}, 2 s warm-up, then ${seconds} s`);
  await wrk(ingestUrl, { ...options, seconds: 2 });
  await drain(ingestUrl, probe.token);
  const meter = await PhaseCostMeter.begin(probe, { commands: true });
  const from = monotonicUs();
  const result = await wrk(ingestUrl, { ...options, seconds });
  const to = monotonicUs();
  await drain(ingestUrl, probe.token);
  return { ...plan, wrk: result, cost: await meter.finish(), betweenUs: [from, to] };
}

/** OTLP protobuf exports from 4 senders, as the benchmark's OTLP phase posts them. */
interface OtlpPhaseResult {
  loop: OtlpLoopResult;
  /** Accepted samples over the time until the pipeline drained. */
  samplesPerSecond: number;
  cost: PhaseCost;
  /** Ingest's largest RSS during the phase (its VmRSS, read every 50 ms). */
  ingestPeakRssMb: number;
  betweenUs: [number, number];
  profile?: ProfileSummary;
}

const OTLP_SENDERS = 4;

async function runOtlpPhase(ingestUrl: string, ingestPid: number, probe: PhaseProbe, seconds: number): Promise<OtlpPhaseResult> {
  log(`OTLP protobuf exports: ${OTLP_SENDERS} senders, 2 s warm-up, then ${seconds} s`);
  const fleet = otlpPhaseFleet();
  const options = { concurrency: OTLP_SENDERS, seconds: 2, token: probe.token };
  await otlpClosedLoop(ingestUrl, fleet, options);
  await drain(ingestUrl, probe.token);
  const meter = await PhaseCostMeter.begin(probe, { commands: true });
  const peakRss = PeakRss.follow(ingestPid);
  const startedAt = performance.now();
  const from = monotonicUs();
  const loop = await otlpClosedLoop(ingestUrl, fleet, { ...options, seconds });
  const to = monotonicUs();
  await drain(ingestUrl, probe.token);
  const elapsedS = (performance.now() - startedAt) / 1000;
  const ingestPeakRssMb = peakRss.stop();
  return { loop, samplesPerSecond: loop.accepted / elapsedS, cost: await meter.finish(), ingestPeakRssMb, betweenUs: [from, to] };
}

/** The phase's costliest Redis commands (INFO commandstats), per sample. */
function renderCommands(cost: PhaseCost): string[] {
  return [
    '| Redis command | calls | calls per 1,000 samples | µs per call (wall) | µs per sample (wall) |',
    '|---|---|---|---|---|',
    ...(cost.commands ?? [])
      .slice(0, 15)
      .map(
        (c) =>
          `| ${c.command.toUpperCase()} | ${fixed(c.calls, 0)} | ${fixed((c.calls * 1000) / cost.samples, 1)} | ${fixed(c.usecPerCall, 2)} | ${fixed(c.usec / cost.samples, 2)} |`,
      ),
    '',
  ];
}

function renderOtlpPhase(phase: OtlpPhaseResult): string {
  const { cost, loop } = phase;
  const statuses = Object.entries(loop.statuses)
    .map(([status, count]) => `${status}: ${count}`)
    .join(', ');
  const lines = [
    `## OTLP protobuf exports: ${OTLP_SENDERS} senders, the benchmark's OTLP exports`,
    '',
    '| figure | value |',
    '|---|---|',
    `| samples/s accepted until drained (data points in them) | ${fixed(phase.samplesPerSecond, 0)} (${fixed(loop.points, 0)}) |`,
    `| answers (status: count) | ${statuses} |`,
    `| Redis CPU per sample | ${fixed(cost.redisUsPerSample, 2)} µs (${fixed(cost.redisCorePercent, 1)} % of a core) |`,
    `| ingest CPU per sample (under the profiler) | ${fixed(cost.ingestUsPerSample, 2)} µs |`,
    `| worker CPU per sample | ${fixed(cost.workerUsPerSample, 2)} µs |`,
    `| ingest peak RSS in the phase | ${fixed(phase.ingestPeakRssMb, 1)} MB |`,
    '',
    ...renderCommands(cost),
  ];
  if (phase.profile) {
    lines.push(renderProfileSummary(phase.profile, 'Ingest CPU profile over the OTLP exports', { count: loop.accepted, unit: 'sample' }));
  }
  return lines.join('\n');
}

/** The bare Koa handler under the single-POST wrk run: what Node's HTTP stack and Koa alone cost per request. */
interface BareRun {
  wrk: WrkResult;
  /** The handler's CPU per request (/proc, under the profiler like ingest's figure). */
  cpuUsPerRequest: number;
  betweenUs: [number, number];
  profile?: ProfileSummary;
}

async function runBare(bareUrl: string, pid: number, connections: number, seconds: number): Promise<BareRun> {
  log(`bare Koa handler: wrk -t1 -c${connections} -s bench/post.lua, 2 s warm-up, then ${seconds} s`);
  await wrk(bareUrl, { connections, script: 'post.lua', seconds: 2 });
  const from = monotonicUs();
  const cpuBefore = processCpuUs(pid);
  const result = await wrk(bareUrl, { connections, script: 'post.lua', seconds });
  const cpuUsPerRequest = (processCpuUs(pid) - cpuBefore) / result.requests;
  return { wrk: result, cpuUsPerRequest, betweenUs: [from, monotonicUs()] };
}

function renderBare(bare: BareRun, connections: number): string {
  return [
    `## The bare Koa handler (baseline): \`wrk -t1 -c${connections} -s bench/post.lua\``,
    '',
    `Requests/s ${fixed(bare.wrk.requestsPerSecond, 0)} (latency p50 / p99 ${fixed(bare.wrk.p50Ms, 2)} / ${fixed(bare.wrk.p99Ms, 2)} ms); ` +
      `CPU per request (under the profiler) ${fixed(bare.cpuUsPerRequest, 2)} µs.`,
    '',
    bare.profile
      ? renderProfileSummary(bare.profile, 'Bare handler CPU profile over its wrk run', { count: bare.wrk.requests, unit: 'request' })
      : '',
  ].join('\n');
}

function renderPhase(phase: PhaseResult): string {
  const { cost } = phase;
  const lines = [
    `## ${phase.name}: \`wrk -t1 -c${phase.connections} -s bench/${phase.script}\``,
    '',
    '| figure | value |',
    '|---|---|',
    `| requests/s (latency p50 / p99) | ${fixed(phase.wrk.requestsPerSecond, 0)} (${fixed(phase.wrk.p50Ms, 2)} / ${fixed(phase.wrk.p99Ms, 2)} ms) |`,
    `| non-2xx / socket errors | ${phase.wrk.non2xx} / ${phase.wrk.errors} |`,
    `| samples accepted (workers' own count) | ${fixed(cost.samples, 0)} (${fixed(cost.workerApplied, 0)}) |`,
    `| Redis CPU per sample | ${fixed(cost.redisUsPerSample, 2)} µs (${fixed(cost.redisCpuS, 3)} s over ${fixed(cost.elapsedS, 1)} s, ${fixed(cost.redisCorePercent, 1)} % of a core; in the kernel ${fixed(cost.redisSysUsPerSample, 2)} µs) |`,
    `| ingest CPU per sample (under the profiler) | ${fixed(cost.ingestUsPerSample, 2)} µs |`,
    `| worker CPU per sample | ${fixed(cost.workerUsPerSample, 2)} µs |`,
    '',
    ...renderCommands(cost),
  ];
  if (phase.profile) {
    const samplesInWindow = phase.wrk.requests * phase.samplesPerRequest;
    lines.push(
      renderProfileSummary(phase.profile, `Ingest CPU profile over the ${phase.name} wrk run`, { count: samplesInWindow, unit: 'sample' }),
    );
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  const program = new Command('bench:profile')
    .description('ingest CPU profile and CPU per sample under single POSTs and 1,000-sample batches')
    .addOption(new Option('--seconds <n>', 'length of each wrk run').default(10).argParser(Number))
    .addOption(new Option('--connections <n>', 'wrk connections for single POSTs').default(50).argParser(Number))
    .addOption(new Option('--batch-connections <n>', 'wrk connections for batches').default(8).argParser(Number))
    .addOption(new Option('--top <n>', 'rows of the package and function tables').default(25).argParser(Number))
    .addOption(new Option('--out <dir>', 'where the .cpuprofile and profile.json go').default(join(ROOT, 'dist', 'bench', 'profile')))
    .addOption(new Option('--with-token', 'run ingest with a bench token (every request carries it) instead of the open API'))
    .addOption(
      new Option('--services-dist <dir>', "the build whose ingest and worker are profiled (another checkout's dist/; default this one)"),
    )
    .parse(process.argv);
  const options = program.opts<{
    seconds: number;
    connections: number;
    batchConnections: number;
    top: number;
    out: string;
    withToken?: boolean;
    servicesDist?: string;
  }>();
  requireTools();
  const out = resolve(options.out);
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  const machine = describeMachine();
  const plans: PhasePlan[] = [
    { name: 'single-sample POSTs', script: 'post.lua', connections: options.connections, samplesPerRequest: 1 },
    { name: '1,000-sample NDJSON batches', script: 'post-batch.lua', connections: options.batchConnections, samplesPerRequest: 1000 },
  ];

  log('starting a private Redis, ingest and the bare Koa handler under --cpu-prof, one worker');
  const bareOut = join(out, 'bare');
  mkdirSync(bareOut);
  const services = await startServices(1, {
    ingestNodeArgs: ['--cpu-prof', `--cpu-prof-dir=${out}`],
    bareNodeArgs: ['--cpu-prof', `--cpu-prof-dir=${bareOut}`],
    openApi: !options.withToken,
    servicesDist: options.servicesDist,
  });
  const redis = new Redis(services.redis.url);
  const probe = probeOf(services, redis);
  const phases: PhaseResult[] = [];
  let otlp: OtlpPhaseResult;
  let bare: BareRun;
  try {
    for (const plan of plans) phases.push(await runPhase(plan, services.ingestUrl, probe, options.seconds));
    otlp = await runOtlpPhase(services.ingestUrl, services.ingest.pid!, probe, options.seconds);
    bare = await runBare(services.bareUrl, services.bare.pid!, options.connections, options.seconds);
  } finally {
    redis.disconnect();
    // Ingest writes its profile as it exits.
    await services.stop();
  }

  const file = profileFile(out);
  const profile = readCpuProfile(file);
  // Our files are those of the build measured: its checkout is the parent of its dist/.
  const measuredRoot = resolve(services.servicesDist, '..');
  for (const phase of phases) phase.profile = summarizeProfile(profile, measuredRoot, { top: options.top, betweenUs: phase.betweenUs });
  otlp.profile = summarizeProfile(profile, measuredRoot, { top: options.top, betweenUs: otlp.betweenUs });
  const bareFile = profileFile(bareOut);
  bare.profile = summarizeProfile(readCpuProfile(bareFile), ROOT, { top: options.top, betweenUs: bare.betweenUs });
  writeFileSync(join(out, 'profile.json'), JSON.stringify({ machine, options, profileFile: file, phases, otlp, bare }, null, 2));
  process.stdout.write(
    [
      `# Hot-path profile of ${new Date().toISOString()}`,
      '',
      `Command: \`npm run bench:profile -- --seconds ${options.seconds}\`; one ingest (under \`--cpu-prof\`) and one worker, 4 partitions, ` +
        `${options.withToken ? 'a bench token on every request' : 'the API open'}` +
        `${options.servicesDist ? `; services from ${options.servicesDist}` : ''}.`,
      '',
      ...Object.entries(machine).map(([k, v]) => `- ${k}: ${v}`),
      '',
      ...phases.map(renderPhase),
      renderOtlpPhase(otlp),
      renderBare(bare, options.connections),
    ].join('\n'),
  );
  log(`profile: ${file}; figures: ${join(out, 'profile.json')}`);
}

main().then(
  () => process.exit(0),
  (error: Error) => {
    process.stderr.write(`bench:profile: ${error.message}\n`);
    process.exit(1);
  },
);

/**
 * `npm run bench:apply`: the CPU cost per sample of the worker's apply alone, in Redis and in
 * the worker, for single-sample POSTs (every sample its own node-second: the hard case).
 *
 * A private redis-server; the stream filled through the store layer (one append per POST,
 * so one entry per sample, as single POSTs of an idle ingest make them); every entry read
 * into the consumer group first; then the entries applied as the worker applies them
 * (decode, AggregateStore.applyBatch) in batches of a given number of entries. Redis CPU is
 * the change of INFO cpu over the applies only, worker CPU the change of
 * process.cpuUsage(), both over the samples applied. The first seconds warm the keys up
 * (a node's hour hash and summary exist, as in a steady state) and are not counted.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Redis from 'ioredis';
import { Command, Option } from 'commander';
import { startPrivateRedis } from '../launcher/private-redis';
import { CountedRedis } from './redis-instructions';
import { groupWithinBound, MAX_SCRIPT_ARGS } from '../shared/store/apply-plan';
import { AggregateStore, type ApplyMethod, type DecodedEntry } from '../shared/store/batch-apply';
import { decodeEntry, encodeSamples } from '../shared/store/entry-codec';
import { partitionKeys, type PartitionKeys } from '../shared/store/keys';
import { PartitionStream, type RawEntry } from '../shared/store/partition-stream';
import { SampleAppender } from '../shared/store/sample-append';
import { ensureGroup } from '../shared/store/stream-groups';
import type { Sample } from '../shared/samples';
import { registerScripts } from '../shared/store/scripts';
import { commandStats, redisCpuSeconds, resetCommandStats } from './redis-accounting';
import { aggregatesOf } from './aggregate-snapshot';
import { mainThreadCpuUs } from './process-cpu';
import { profiled } from './in-process-profile';

const PREFIX = 'bench';
const GROUP = 'aggregators';
const CONSUMER = 'bench-worker';
/** Seconds of samples applied before measuring, so hour hashes and summaries exist. */
const WARM_SECONDS = 2;
/** POSTs appended concurrently while filling the stream. */
const APPEND_CONCURRENCY = 500;
const PLANNING_REPEATS = 5;

const format = (value: number, digits = 2) => value.toFixed(digits);

interface Scenario {
  label: string;
  /** Processes posted with each node sample (in the same POST, so the same entry). */
  processes: number;
  /** Entries per apply, as the worker reads them. */
  batchEntries: number;
  /** POSTs joined into one entry (ingest's group commit under load). */
  postsPerEntry: number;
  /** POSTs per node and second: more than one merge into the node's 1-second bucket. */
  postsPerSecond: number;
  /** Workers applying the batches in turn. */
  workers: number;
}

interface Measurement {
  samples: number;
  /** With --instructions: instructions Redis ran per sample for the applies, and per POST for the appends. */
  applyInstructionsPerSample?: number;
  appendInstructionsPerPost?: number;
  entries: number;
  redisUsPerSample: number;
  workerUsPerSample: number;
  /** Of it, the worker's main thread (the rest is V8's helper threads: garbage collection, compilation). */
  workerMainThreadUsPerSample: number;
  /** Commands the scripts ran (besides EVALSHA itself), per entry. */
  commandsPerEntry: number;
  /** The worker's planning alone (grouping the batch into calls, each planned): the least of a few repetitions. */
  planningUsPerSample: number;
  /** With --beside-script: the same applies through apply-batch.lua, as on a cluster. */
  scriptInstructionsPerSample?: number;
}

function samplesOf(node: number, second: number, baseMs: number, processes: number, post = 0, postsPerSecond = 1): Sample[] {
  const name = `node-${String(node).padStart(4, '0')}`;
  const at = baseMs + second * 1000 + Math.floor(((post + 0.5) * 1000) / postsPerSecond);
  const cpu = (node * 7 + second) % 100;
  const samples: Sample[] = [{ kind: 'node', node: name, at, timeslice: 1, cpu, mem: (node * 3 + second) % 100 }];
  for (let p = 0; p < processes; p++) {
    samples.push({ kind: 'process', node: name, process: `svc-${p}`, at, timeslice: 1, cpu_used: cpu / (p + 1), mem_used: 1e6 * (p + 1) });
  }
  return samples;
}

/**
 * `postsPerSecond` POSTs per node in each second of [fromSecond, toSecond), appended through
 * the store layer `postsPerEntry` POSTs a call, as ingest's group commit joins the POSTs that
 * arrive together: one entry per call.
 */
async function fill(
  redis: Redis,
  nodes: number,
  fromSecond: number,
  toSecond: number,
  processes: number,
  baseMs: number,
  { postsPerEntry, postsPerSecond }: Pick<Scenario, 'postsPerEntry' | 'postsPerSecond'>,
): Promise<void> {
  const appender = new SampleAppender(redis, PREFIX, 1);
  let group = 0;
  const posts: Sample[][] = [];
  for (let second = fromSecond; second < toSecond; second++)
    for (let post = 0; post < postsPerSecond; post++)
      for (let node = 0; node < nodes; node++) posts.push(samplesOf(node, second, baseMs, processes, post, postsPerSecond));
  const calls: Sample[][][] = [];
  for (let first = 0; first < posts.length; first += postsPerEntry) calls.push(posts.slice(first, first + postsPerEntry));
  for (let first = 0; first < calls.length; first += APPEND_CONCURRENCY) {
    await Promise.all(
      calls.slice(first, first + APPEND_CONCURRENCY).map(async (joined) => {
        const requests = joined.map((samples) => ({ parts: [{ partition: 0, lines: encodeSamples(samples) }], samples: samples.length }));
        const result = await appender.append(`g${fromSecond}-${group++}`, requests);
        if (result.kind !== 'appended') throw new Error(`append refused: ${result.kind}`);
      }),
    );
  }
}

/** Every entry delivered to the consumer (pending on it), in stream order. */
async function readAll(stream: PartitionStream): Promise<RawEntry[]> {
  const all: RawEntry[] = [];
  for (;;) {
    const entries = await stream.readNew(10_000, 0);
    if (entries.length === 0) return all;
    all.push(...entries);
  }
}

function batchesOf(raw: readonly RawEntry[], batchEntries: number): DecodedEntry[][] {
  const batches: DecodedEntry[][] = [];
  for (let first = 0; first < raw.length; first += batchEntries) {
    batches.push(raw.slice(first, first + batchEntries).map(([id, fields]) => ({ id, samples: decodeEntry(fields!) })));
  }
  return batches;
}

/** The batches applied in turn by `stores` (workers sharing the partition: each applies every other batch with two). */
async function applyAll(
  stores: readonly AggregateStore[],
  keys: PartitionKeys,
  raw: readonly RawEntry[],
  batchEntries: number,
): Promise<number> {
  let samples = 0;
  for (let first = 0, turn = 0; first < raw.length; first += batchEntries, turn++) {
    const batch: DecodedEntry[] = raw.slice(first, first + batchEntries).map(([id, fields]) => ({ id, samples: decodeEntry(fields!) }));
    const outcome = await stores[turn % stores.length]!.applyBatch(keys, batch);
    if (outcome.applied !== batch.length) throw new Error(`applied ${outcome.applied} of ${batch.length} entries`);
    samples += outcome.samples;
  }
  return samples;
}

/** CPU µs per sample of planning every batch as applyBatch does, the least of PLANNING_REPEATS passes (robust to other load). */
function planningCost(keys: PartitionKeys, batches: readonly DecodedEntry[][], samples: number): number {
  const nowMs = Date.now();
  let least = Infinity;
  for (let pass = 0; pass < PLANNING_REPEATS; pass++) {
    const before = process.cpuUsage();
    for (const batch of batches) groupWithinBound(batch, (e) => e.samples, keys, nowMs);
    const used = process.cpuUsage(before);
    least = Math.min(least, used.user + used.system);
  }
  return least / samples;
}

/** Runs `work`; with a counted Redis, answers the instructions Redis ran meanwhile. */
type Counter = (work: () => Promise<void>) => Promise<number | undefined>;

/**
 * An emptied Redis filled with the scenario's entries (`count` measures the appends of the
 * measured ones), every entry delivered, and the first seconds' entries applied to warm the
 * keys up; answers what is left to measure. The same times give the same entries.
 */
async function prepare(
  redis: Redis,
  count: Counter,
  scenario: Scenario,
  nodes: number,
  seconds: number,
  baseMs: number,
  method: ApplyMethod,
): Promise<{ keys: PartitionKeys; stores: AggregateStore[]; measured: RawEntry[]; appendInstructions: number | undefined }> {
  registerScripts(redis);
  await redis.flushall();
  const keys = partitionKeys(PREFIX, 0, 1);
  await ensureGroup(redis, keys.stream, GROUP);
  const { processes, postsPerEntry, postsPerSecond } = scenario;
  await fill(redis, nodes, 0, WARM_SECONDS, processes, baseMs, scenario);
  const appendInstructions = await count(() => fill(redis, nodes, WARM_SECONDS, WARM_SECONDS + seconds, processes, baseMs, scenario));
  const raw = await readAll(new PartitionStream(keys, redis, redis, GROUP, CONSUMER));
  const stores = Array.from(
    { length: scenario.workers },
    (_, w) => new AggregateStore(redis, GROUP, `${CONSUMER}-${w}`, Date.now, MAX_SCRIPT_ARGS, method),
  );
  const warm = Math.ceil((WARM_SECONDS * nodes * postsPerSecond) / postsPerEntry);
  await applyAll(stores, keys, raw.slice(0, warm), scenario.batchEntries);
  return { keys, stores, measured: raw.slice(warm), appendInstructions };
}

async function measure(
  server: { url: string },
  count: Counter,
  scenario: Scenario,
  nodes: number,
  seconds: number,
  showCommands: boolean,
  besideScript: boolean,
  method: ApplyMethod,
  /** Where to write a CPU profile of the measured applies (the worker's side). */
  profileFile?: string,
): Promise<Measurement> {
  const redis = new Redis(server.url, { maxRetriesPerRequest: 1 });
  try {
    const baseMs = Math.floor(Date.now() / 1000) * 1000 - (WARM_SECONDS + seconds + 5) * 1000;
    const { keys, stores, measured, appendInstructions } = await prepare(redis, count, scenario, nodes, seconds, baseMs, method);
    await resetCommandStats(redis);
    const redisBefore = await redisCpuSeconds(redis);
    const workerBefore = process.cpuUsage();
    const mainThreadBefore = mainThreadCpuUs();
    let samples = 0;
    const applyInstructions = await count(async () => {
      const work = () => applyAll(stores, keys, measured, scenario.batchEntries);
      samples = await (profileFile ? profiled(profileFile, work) : work());
    });
    const worker = process.cpuUsage(workerBefore);
    const mainThread = mainThreadCpuUs() - mainThreadBefore;
    const redisAfter = await redisCpuSeconds(redis);
    const stats = await commandStats(redis);
    const scriptInstructions = besideScript
      ? await measureScript(server, count, scenario, nodes, seconds, baseMs, await aggregatesOf(redis, PREFIX))
      : undefined;
    // Time inside each command (wall time, as Redis counts it); EVALSHA holds the script's own Lua work too.
    if (showCommands) {
      for (const c of stats.slice(0, 8)) {
        console.error(
          `  ${c.command}: ${format(c.calls / measured.length)} per entry, ${format(c.usecPerCall)} µs per call, ${format(c.usec / samples)} µs per sample`,
        );
      }
    }
    const commands = stats
      .filter((c) => !['evalsha', 'eval', 'info', 'config|resetstat', 'config'].includes(c.command))
      .reduce((n, c) => n + c.calls, 0);
    return {
      samples,
      applyInstructionsPerSample: applyInstructions === undefined ? undefined : applyInstructions / samples,
      appendInstructionsPerPost:
        appendInstructions === undefined ? undefined : appendInstructions / (seconds * nodes * scenario.postsPerSecond),
      entries: measured.length,
      redisUsPerSample: ((redisAfter - redisBefore) * 1e6) / samples,
      workerUsPerSample: (worker.user + worker.system) / samples,
      workerMainThreadUsPerSample: mainThread / samples,
      commandsPerEntry: commands / measured.length,
      planningUsPerSample: planningCost(keys, batchesOf(measured, scenario.batchEntries), samples),
      scriptInstructionsPerSample: scriptInstructions === undefined ? undefined : scriptInstructions / samples,
    };
  } finally {
    redis.disconnect();
  }
}

/**
 * The same scenario again from an empty Redis (same samples, same times), applied through
 * apply-batch.lua as on a cluster; its aggregates must equal the transactions'
 * (`transactionAggregates`). Answers the instructions Redis ran for the measured applies.
 */
async function measureScript(
  server: { url: string },
  count: Counter,
  scenario: Scenario,
  nodes: number,
  seconds: number,
  baseMs: number,
  transactionAggregates: string,
): Promise<number | undefined> {
  const redis = new Redis(server.url, { maxRetriesPerRequest: 1 });
  try {
    const uncounted: Counter = async (work) => {
      await work();
      return undefined;
    };
    const { keys, stores, measured } = await prepare(redis, uncounted, scenario, nodes, seconds, baseMs, 'script');
    const instructions = await count(async () => {
      await applyAll(stores, keys, measured, scenario.batchEntries);
    });
    if ((await aggregatesOf(redis, PREFIX)) !== transactionAggregates)
      throw new Error('the script left other aggregates than the transactions');
    return instructions;
  } finally {
    redis.disconnect();
  }
}

function spread(values: readonly number[]): string {
  const sorted = [...values].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)]!;
  return sorted.length === 1 ? format(median) : `${format(median)} (${format(sorted[0]!)}–${format(sorted[sorted.length - 1]!)})`;
}

async function main(): Promise<void> {
  const program = new Command('bench:apply')
    .description("CPU per sample of the worker's apply (Redis and worker), single-sample POSTs")
    .addOption(new Option('--nodes <n>', 'nodes, each posting one sample a second').default(1000).argParser(Number))
    .addOption(new Option('--seconds <n>', 'measured seconds of samples').default(20).argParser(Number))
    .addOption(new Option('--runs <n>', 'runs of every scenario (the spread is reported)').default(3).argParser(Number))
    .addOption(new Option('--processes <n>', 'processes per POST in the variant with processes').default(4).argParser(Number))
    .addOption(new Option('--batches <list>', 'entries per apply').default('60,1000'))
    .addOption(
      new Option('--posts-per-entry <n>', "POSTs joined into one entry, as ingest's group commit joins concurrent POSTs")
        .default(1)
        .argParser(Number),
    )
    .addOption(new Option('--posts-per-second <n>', 'POSTs per node and second (the same 1-second bucket)').default(1).argParser(Number))
    .addOption(
      new Option('--workers <n>', 'workers applying the batches in turn, as workers sharing a partition do').default(1).argParser(Number),
    )
    .addOption(new Option('--commands', "also print each run's costliest commands (INFO commandstats)"))
    .addOption(
      new Option(
        '--instructions',
        'run Redis under valgrind (callgrind) and report the instructions it runs per sample: repeatable on a busy machine, about 50x slower (use --nodes 200 --seconds 4)',
      ),
    )
    .addOption(
      new Option(
        '--method <method>',
        'how whole entries are applied: transaction (native commands, one Redis) or script (apply-batch.lua, as on a cluster)',
      )
        .choices(['transaction', 'script'])
        .default('transaction'),
    )
    .addOption(
      new Option(
        '--beside-script',
        'with --instructions: also apply the same entries through apply-batch.lua (as on a cluster), checking both leave the same aggregates',
      ),
    )
    .addOption(
      new Option(
        '--cpu-profile <dir>',
        "write a CPU profile of each run's measured applies (the worker's side) into <dir>, for profile-summary",
      ),
    )
    .addOption(
      new Option('--keep-dumps', "with --instructions: keep callgrind's dumps (one per measured piece of work) for callgrind_annotate"),
    )
    .parse(process.argv);
  const options = program.opts<{
    nodes: number;
    seconds: number;
    runs: number;
    processes: number;
    batches: string;
    postsPerEntry: number;
    postsPerSecond: number;
    workers: number;
    commands?: boolean;
    instructions?: boolean;
    keepDumps?: boolean;
    besideScript?: boolean;
    method: ApplyMethod;
    cpuProfile?: string;
  }>();
  if (options.besideScript && options.method !== 'transaction')
    throw new Error('--beside-script compares the transactions with the script');
  if (options.besideScript && !options.instructions) throw new Error('--beside-script needs --instructions');
  const scenarios: Scenario[] = [];
  for (const processes of [0, options.processes]) {
    for (const batchEntries of options.batches.split(',').map(Number)) {
      const what = processes === 0 ? 'node sample' : `node sample + ${processes} processes`;
      const { postsPerEntry, postsPerSecond, workers } = options;
      const entries = postsPerEntry === 1 ? `${batchEntries} entries` : `${batchEntries} entries of ${postsPerEntry} POSTs`;
      const rate = postsPerSecond === 1 ? '' : `, ${postsPerSecond} POSTs per node and second`;
      const appliers = workers === 1 ? '' : `, ${workers} workers in turn`;
      scenarios.push({
        label: `1 ${what} per POST${rate}, ${entries} per apply${appliers}`,
        processes,
        batchEntries,
        postsPerEntry,
        postsPerSecond,
        workers,
      });
    }
  }
  const counted = options.instructions ? await CountedRedis.start(options.keepDumps) : undefined;
  const plain = counted ? undefined : await startPrivateRedis();
  const server = counted ?? plain!;
  const count: Counter = async (work) => {
    if (counted) return counted.count(work);
    await work();
    return undefined;
  };
  try {
    const results = new Map<Scenario, Measurement[]>(scenarios.map((s) => [s, []]));
    if (options.cpuProfile) mkdirSync(options.cpuProfile, { recursive: true });
    for (let run = 0; run < options.runs; run++) {
      for (const [s, scenario] of scenarios.entries()) {
        const profileFile = options.cpuProfile && join(options.cpuProfile, `apply-${options.method}-${s + 1}-run${run + 1}.cpuprofile`);
        const m = await measure(
          server,
          count,
          scenario,
          options.nodes,
          options.seconds,
          options.commands ?? false,
          options.besideScript ?? false,
          options.method,
          profileFile,
        );
        results.get(scenario)!.push(m);
        console.error(
          `run ${run + 1} ${scenario.label}: ${m.samples} samples, Redis ${format(m.redisUsPerSample)} µs, worker ${format(m.workerUsPerSample)} µs (main thread ${format(m.workerMainThreadUsPerSample)}), ${format(m.commandsPerEntry, 1)} commands per entry, planning ${format(m.planningUsPerSample)} µs`,
        );
      }
    }
    console.log(`\n${options.nodes} nodes, ${options.seconds} s measured, ${options.runs} runs: median (min–max)\n`);
    if (counted) {
      // Under valgrind the CPU figures mean nothing; the instruction counts are the measurement.
      const thousands = (values: (number | undefined)[]) => spread(values.map((v) => (v ?? NaN) / 1000));
      const script = options.besideScript ? ' apply through the script (thousands) | transactions over script |' : '';
      console.log(
        `| scenario | samples per run | Redis instructions per sample, apply (thousands) | per POST, append (thousands) | Redis commands per entry |${script}`,
      );
      console.log(`|---|---|---|---|---|${options.besideScript ? '---|---|' : ''}`);
      for (const [scenario, ms] of results) {
        const scriptCells = options.besideScript
          ? ` ${thousands(ms.map((m) => m.scriptInstructionsPerSample))} | ${spread(ms.map((m) => m.applyInstructionsPerSample! / m.scriptInstructionsPerSample!))} |`
          : '';
        console.log(
          `| ${scenario.label} | ${ms[0]!.samples} | ${thousands(ms.map((m) => m.applyInstructionsPerSample))} | ${thousands(ms.map((m) => m.appendInstructionsPerPost))} | ${format(ms[0]!.commandsPerEntry, 1)} |${scriptCells}`,
        );
      }
      return;
    }
    console.log(
      '| scenario | samples per run | Redis CPU µs per sample | worker CPU µs per sample | of it the main thread | of it planning (least of 5) | Redis commands per entry |',
    );
    console.log('|---|---|---|---|---|---|---|');
    for (const [scenario, ms] of results) {
      console.log(
        `| ${scenario.label} | ${ms[0]!.samples} | ${spread(ms.map((m) => m.redisUsPerSample))} | ${spread(ms.map((m) => m.workerUsPerSample))} | ${spread(ms.map((m) => m.workerMainThreadUsPerSample))} | ${spread(ms.map((m) => m.planningUsPerSample))} | ${format(ms[0]!.commandsPerEntry, 1)} |`,
      );
    }
  } finally {
    await counted?.stop();
    await plain?.destroy();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});

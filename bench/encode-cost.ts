/**
 * `npm run bench:encode`: the CPU a batch sample costs in the hot path's own JavaScript, in
 * process (no HTTP, no Redis): ingest's JSON shape scan, validation and entry encoding, the
 * worker's entry decoding, planning and the apply's argument encoding, each beside
 * JSON.parse of the same body (what any handler that parses pays anyway). With
 * `--before <dist>` the same functions of another build are timed too, each build in
 * processes of its own, alternated, so a change is measured against its parent in one run.
 * The least time of the rounds counts: other load only ever adds to a round.
 */
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { Command, Option } from 'commander';
import { SyntheticFleet } from '../cli/load/synthetic-fleet';
import { fixed } from './fixed-digits';
import { describeMachine } from './machine';

/** The functions timed, as a build's dist/ exports them. */
interface Build {
  checkJsonShape(text: string, limits: { maxItems?: number }): void;
  parseBatch(items: unknown[], ctx: { receivedAt: number; maxFutureSkewMs: number }): unknown[];
  ENTRY_FIELD: string;
  encodeSamples(samples: readonly unknown[]): string;
  decodeEntry(fields: readonly string[]): unknown[];
  groupWithinBound(
    items: readonly unknown[],
    samplesOf: (item: unknown) => readonly unknown[],
    keys: unknown,
    nowMs: number,
  ): PlannedGroup[];
  encodeBulkStrings(args: readonly unknown[]): Buffer;
  partitionKeys(prefix: string, partition: number, count: number): unknown;
}

type PlannedGroup = { oversized: false; plan: { sections: unknown[] } } | { oversized: true };

function loadBuild(dist: string): Build {
  const load = createRequire(__filename);
  const from = (path: string) => load(join(dist, path)) as Record<string, unknown>;
  return {
    checkJsonShape: from('ingest/json-shape.js').checkJsonShape,
    parseBatch: from('shared/samples.js').parseBatch,
    ENTRY_FIELD: from('shared/store/entry-codec.js').ENTRY_FIELD,
    encodeSamples: from('shared/store/entry-codec.js').encodeSamples,
    decodeEntry: from('shared/store/entry-codec.js').decodeEntry,
    groupWithinBound: from('shared/store/apply-plan.js').groupWithinBound,
    encodeBulkStrings: from('shared/store/encoded-script.js').encodeBulkStrings,
    partitionKeys: from('shared/store/keys.js').partitionKeys,
  } as Build;
}

const STAGES = [
  'JSON.parse (baseline)',
  'JSON shape scan',
  'validation (parseBatch)',
  'entry encoding',
  'entry decoding',
  'planning the apply, its sections laid out',
  "encoding the apply's arguments",
] as const;
type Stage = (typeof STAGES)[number];

/** Per stage, a function doing that stage's work for every batch once. */
function stagesOf(build: Build, bodies: readonly string[]): Record<Stage, () => void> {
  const ctx = { receivedAt: Date.now(), maxFutureSkewMs: 60_000 };
  const parsed = bodies.map((body) => JSON.parse(body) as unknown[]);
  const samples = parsed.map((items) => build.parseBatch(items, ctx));
  const encoded = samples.map((batch) => build.encodeSamples(batch));
  const keys = build.partitionKeys('bench', 0, 1);
  const decode = (payload: string) => build.decodeEntry([build.ENTRY_FIELD, payload]);
  const entries = encoded.map((payload, i) => ({ id: `${1_700_000_000_000 + i}-0`, samples: decode(payload) }));
  const samplesOf = (entry: unknown) => (entry as { samples: unknown[] }).samples;
  const sections = build
    .groupWithinBound(entries, samplesOf, keys, ctx.receivedAt)
    .flatMap((group) => (group.oversized ? [] : [group.plan.sections]));
  return {
    'JSON.parse (baseline)': () => bodies.forEach((body) => JSON.parse(body)),
    'JSON shape scan': () => bodies.forEach((body) => build.checkJsonShape(body, { maxItems: 10_000 })),
    'validation (parseBatch)': () => parsed.forEach((items) => build.parseBatch(items, ctx)),
    'entry encoding': () => samples.forEach((batch) => build.encodeSamples(batch)),
    'entry decoding': () => encoded.forEach(decode),
    // With the sections: since the planner's records are its own maps, buckets are encoded when written.
    'planning the apply, its sections laid out': () => {
      for (const group of build.groupWithinBound(entries, samplesOf, keys, ctx.receivedAt)) if (!group.oversized) void group.plan.sections;
    },
    "encoding the apply's arguments": () => sections.forEach((args) => build.encodeBulkStrings(args)),
  };
}

function cpuNs(work: () => void, repeats: number): number {
  const before = process.cpuUsage();
  for (let r = 0; r < repeats; r++) work();
  const used = process.cpuUsage(before);
  return (used.user + used.system) * 1000;
}

/** One build's least CPU ns per sample per stage over `rounds` rounds, in this process. */
function measureBuild(dist: string, batches: number, rounds: number, repeats: number): Record<Stage, number> {
  const fleet = new SyntheticFleet({ nodes: 10_000, processes: 5, timeslice: 10, prefix: 'bench' });
  const bodies = Array.from({ length: batches }, () => fleet.next(1000).body);
  const stages = stagesOf(loadBuild(dist), bodies);
  const least = Object.fromEntries(STAGES.map((s) => [s, Infinity])) as Record<Stage, number>;
  for (const stage of STAGES) cpuNs(stages[stage], 3); // warm-up
  for (let round = 0; round < rounds; round++) {
    for (const stage of STAGES) least[stage] = Math.min(least[stage], cpuNs(stages[stage], repeats) / (repeats * batches * 1000));
  }
  return least;
}

async function main(): Promise<void> {
  const program = new Command('bench:encode')
    .description("the hot path's own JavaScript per batch sample, in process, beside JSON.parse")
    .option('--before <dist>', "another build's dist/ directory, timed in alternation")
    .addOption(
      new Option('--batches <n>', 'batches of 1,000 samples (a node sample and 5 process samples per node)').default(20).argParser(Number),
    )
    .addOption(new Option('--runs <n>', 'processes per build, alternated; the least counts').default(3).argParser(Number))
    .addOption(new Option('--rounds <n>', 'rounds per process; the least counts').default(5).argParser(Number))
    .addOption(new Option('--repeats <n>', 'passes over the batches per round').default(20).argParser(Number))
    .addOption(new Option('--measure <dist>', 'measure this build alone and print JSON (what each run does)').hideHelp())
    .parse(process.argv);
  const options = program.opts<{ before?: string; batches: number; runs: number; rounds: number; repeats: number; measure?: string }>();
  if (options.measure) {
    process.stdout.write(JSON.stringify(measureBuild(options.measure, options.batches, options.rounds, options.repeats)));
    return;
  }
  // Each build in processes of its own: two copies of the same code in one process share
  // inline caches and each other's garbage, which moved unchanged stages by up to 30 %.
  const builds = [{ label: 'this checkout', dist: resolve(__dirname, '..') }];
  if (options.before) builds.push({ label: `before (${options.before})`, dist: resolve(options.before) });
  const least = builds.map(() => Object.fromEntries(STAGES.map((s) => [s, Infinity])) as Record<Stage, number>);
  for (let run = 0; run < options.runs; run++) {
    const order = builds.map((_, b) => b);
    if (run % 2 === 1) order.reverse();
    for (const b of order) {
      const args = [
        __filename,
        '--measure',
        builds[b]!.dist,
        '--batches',
        `${options.batches}`,
        '--rounds',
        `${options.rounds}`,
        '--repeats',
        `${options.repeats}`,
      ];
      const measured = JSON.parse(execFileSync(process.execPath, args, { encoding: 'utf8' })) as Record<Stage, number>;
      for (const stage of STAGES) least[b]![stage] = Math.min(least[b]![stage], measured[stage]);
    }
  }
  const lines = [
    `# The hot path's JavaScript per batch sample, ${new Date().toISOString()}`,
    '',
    `Command: \`npm run bench:encode -- --batches ${options.batches} --runs ${options.runs} --rounds ${options.rounds} --repeats ${options.repeats}${options.before ? ` --before ${options.before}` : ''}\`; CPU ns per sample, the least of the rounds of every run.`,
    '',
    ...Object.entries(describeMachine()).map(([k, v]) => `- ${k}: ${v}`),
    '',
    `| stage | ${builds.map((b) => b.label).join(' | ')} |${builds.length > 1 ? ' this / before |' : ''}`,
    `|---|${builds.map(() => '---|').join('')}${builds.length > 1 ? '---|' : ''}`,
  ];
  for (const stage of STAGES) {
    const cells = least.map((l) => `${fixed(l[stage], 0)} ns (x${fixed(l[stage] / l['JSON.parse (baseline)'], 2)})`);
    const ratio = builds.length > 1 ? ` x${fixed(least[0]![stage] / least[1]![stage], 2)} |` : '';
    lines.push(`| ${stage} | ${cells.join(' | ')} |${ratio}`);
  }
  lines.push('', '(xN) after a time: that time relative to JSON.parse of the same batches in the same build.');
  process.stdout.write(`${lines.join('\n')}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});

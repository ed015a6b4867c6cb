/**
 * `npm run bench:ingest-ab -- --before <dist>`: two ingest builds side by side, this checkout's
 * and another's (e.g. a checkout of an older commit, built), on one private Redis, measured in
 * alternated wrk rounds (alternating-rounds.ts) so the machine's drift hits both alike. With
 * `--worker` one worker of this build applies meanwhile and the pipeline drains after each
 * round; without, ingest alone. Per build: requests/s per round, latency and ingest CPU per
 * request from /proc, the figure least disturbed by other load.
 */
import { resolve } from 'node:path';
import { Command, Option } from 'commander';
import { alternatingRounds, type WrkSide } from './alternating-rounds';
import { describeMachine } from './machine';
import { fixed } from './fixed-digits';
import { drain } from './measure';
import { startExtraIngest, startServices, stopProcess } from './services';
import { requireTools } from './tools';

const log = (line: string) => process.stderr.write(`[bench:ingest-ab] ${line}\n`);

function row(name: string, side: WrkSide): string {
  return (
    `| ${name} | ${fixed(side.requestsPerSecond, 0)} | ${side.rounds.map((r) => fixed(r.requestsPerSecond, 0)).join(', ')} | ` +
    `${fixed(side.p50Ms, 2)} / ${fixed(side.p99Ms, 2)} ms | ${fixed(side.cpuUsPerRequest, 1)} µs | ${side.non2xx} |`
  );
}

async function main(): Promise<void> {
  const program = new Command('bench:ingest-ab')
    .description("this checkout's ingest against another build's, in alternated wrk rounds")
    .requiredOption('--before <dist>', "the other build's dist/ directory")
    .addOption(new Option('--script <file>', 'wrk script in bench/').default('post.lua'))
    .addOption(new Option('--connections <n>', 'wrk connections').default(50).argParser(Number))
    .addOption(new Option('--rounds <n>', 'rounds per build').default(6).argParser(Number))
    .addOption(new Option('--seconds <n>', 'length of each round').default(8).argParser(Number))
    .addOption(new Option('--worker', 'run one worker (this build) and drain after each round'))
    .parse(process.argv);
  const options = program.opts<{
    before: string;
    script: string;
    connections: number;
    rounds: number;
    seconds: number;
    worker?: boolean;
  }>();
  requireTools();
  const before = resolve(options.before);
  const services = await startServices(options.worker ? 1 : 0, { openApi: true });
  let other: Awaited<ReturnType<typeof startExtraIngest>> | undefined;
  let result: Record<'before' | 'after', WrkSide>;
  try {
    other = await startExtraIngest(services, {}, before);
    result = await alternatingRounds(
      { before: { url: other.url, child: other.child }, after: { url: services.ingestUrl, child: services.ingest } },
      ['before', 'after'],
      {
        rounds: options.rounds,
        connections: options.connections,
        seconds: options.seconds,
        script: options.script,
        after: async () => {
          if (options.worker) await drain(services.ingestUrl, '');
        },
        log,
      },
    );
  } finally {
    if (other) await stopProcess(other.child);
    await services.stop();
  }
  const command =
    `npm run bench:ingest-ab -- --before ${options.before} --script ${options.script} --connections ${options.connections} ` +
    `--rounds ${options.rounds} --seconds ${options.seconds}${options.worker ? ' --worker' : ''}`;
  process.stdout.write(
    [
      `# Ingest before / after of ${new Date().toISOString()}`,
      '',
      `Command: \`${command}\`; ${options.worker ? 'one worker applying, drained after each round' : 'ingest alone, no worker'}.`,
      '',
      ...Object.entries(describeMachine()).map(([k, v]) => `- ${k}: ${v}`),
      '',
      '| build | requests/s | per round | latency p50 / p99 | ingest CPU per request | non-2xx |',
      '|---|---|---|---|---|---|',
      row(`before (${options.before})`, result.before),
      row('after (this checkout)', result.after),
      '',
      `After / before: requests/s x${fixed(result.after.requestsPerSecond / result.before.requestsPerSecond, 2)}, ` +
        `CPU per request x${fixed(result.after.cpuUsPerRequest / result.before.cpuUsPerRequest, 2)}.`,
      '',
    ].join('\n'),
  );
}

main().then(
  () => process.exit(0),
  (error: Error) => {
    process.stderr.write(`bench:ingest-ab: ${error.message}\n`);
    process.exit(1);
  },
);

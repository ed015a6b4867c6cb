/**
 * `npm run bench:worker-ab -- --before <dist>`: this checkout's worker against another
 * build's (another checkout's dist/), in alternated rounds on one Redis and one ingest, so
 * the machine's drift hits both alike. Each round starts that build's worker alone, posts
 * 1,000-sample batches from 4 senders for a while, waits until the worker has applied every
 * sample, and stops the worker: samples/s end to end, and the worker's and Redis's CPU per
 * sample.
 */
import { resolve } from 'node:path';
import Redis from 'ioredis';
import { Command, Option } from 'commander';
import { SyntheticFleet } from '../cli/load/synthetic-fleet';
import { fixed } from './fixed-digits';
import { describeMachine } from './machine';
import { closedLoop, drain } from './measure';
import { processCpuUs } from './process-cpu';
import { commandStats, redisCpuSeconds, resetCommandStats } from './redis-accounting';
import { startExtraWorker, startServices, stopProcess } from './services';
import { requireTools } from './tools';

const log = (line: string) => process.stderr.write(`[bench:worker-ab] ${line}\n`);

interface Round {
  samples: number;
  seconds: number;
  workerUs: number;
  redisUs: number;
  /** The worker's apply calls (XACK counts one per apply). */
  applies: number;
}

const PROCESSES = 5;
const BATCH = 1000;
const SENDERS = 4;

async function main(): Promise<void> {
  const program = new Command('bench:worker-ab')
    .requiredOption('--before <dist>', "the other build's dist/ directory")
    .addOption(new Option('--rounds <n>', 'rounds per build').default(6).argParser(Number))
    .addOption(new Option('--seconds <n>', 'seconds of posting per round').default(8).argParser(Number))
    .addOption(new Option('--nodes <n>', 'nodes of the posting fleet').default(1000).argParser(Number))
    .parse(process.argv);
  const options = program.opts<{ before: string; rounds: number; seconds: number; nodes: number }>();
  requireTools();
  const services = await startServices(0, { openApi: true });
  const redis = new Redis(services.redis.url);
  const builds = { before: resolve(options.before), after: services.servicesDist };
  const rounds: Record<'before' | 'after', Round[]> = { before: [], after: [] };
  const fleet = new SyntheticFleet({ nodes: options.nodes, processes: PROCESSES, timeslice: 10, prefix: 'w' });
  try {
    for (let round = 0; round < options.rounds; round++) {
      for (const name of round % 2 === 0 ? (['before', 'after'] as const) : (['after', 'before'] as const)) {
        log(`round ${round + 1}: ${name}`);
        const worker = await startExtraWorker(services, `ab-${name}`, builds[name]);
        const cpuBefore = processCpuUs(worker.child.pid!);
        const redisBefore = await redisCpuSeconds(redis);
        await resetCommandStats(redis);
        const started = performance.now();
        const sent = await closedLoop(services.ingestUrl, fleet, {
          concurrency: SENDERS,
          batch: BATCH,
          seconds: options.seconds,
          token: '',
        });
        await drain(services.ingestUrl, '');
        const seconds = (performance.now() - started) / 1000;
        rounds[name].push({
          samples: sent.accepted,
          seconds,
          workerUs: processCpuUs(worker.child.pid!) - cpuBefore,
          redisUs: ((await redisCpuSeconds(redis)) - redisBefore) * 1e6,
          applies: (await commandStats(redis)).find((stat) => stat.command === 'xack')?.calls ?? 0,
        });
        await stopProcess(worker.child);
      }
    }
  } finally {
    redis.disconnect();
    await services.stop();
  }
  const summary = (list: Round[]) => {
    const samples = list.reduce((sum, r) => sum + r.samples, 0);
    return {
      perSecond: samples / list.reduce((sum, r) => sum + r.seconds, 0),
      rounds: list.map((r) => fixed(r.samples / r.seconds, 0)).join(', '),
      workerUs: list.reduce((sum, r) => sum + r.workerUs, 0) / samples,
      redisUs: list.reduce((sum, r) => sum + r.redisUs, 0) / samples,
      redisRounds: list.map((r) => fixed(r.redisUs / r.samples, 2)).join(', '),
      perApply: samples / list.reduce((sum, r) => sum + r.applies, 0),
    };
  };
  const before = summary(rounds.before);
  const after = summary(rounds.after);
  const row = (label: string, s: ReturnType<typeof summary>) =>
    `| ${label} | ${fixed(s.perSecond, 0)} | ${s.rounds} | ${fixed(s.workerUs, 2)} µs | ${fixed(s.redisUs, 2)} µs (${s.redisRounds}) | ${fixed(s.perApply, 0)} |`;
  const command = `npm run bench:worker-ab -- --before ${options.before} --rounds ${options.rounds} --seconds ${options.seconds} --nodes ${options.nodes}`;
  process.stdout.write(
    [
      `# Worker before / after of ${new Date().toISOString()}`,
      '',
      `Command: \`${command}\`; ${SENDERS} senders of ${BATCH}-sample batches (${options.nodes} nodes, ${PROCESSES} processes each), one worker at a time.`,
      '',
      ...Object.entries(describeMachine()).map(([k, v]) => `- ${k}: ${v}`),
      '',
      '| build | samples/s end to end | per round | worker CPU per sample | Redis CPU per sample (per round) | samples per apply |',
      '|---|---|---|---|---|---|',
      row(`before (${options.before})`, before),
      row('after (this checkout)', after),
      '',
      `After / before: samples/s x${fixed(after.perSecond / before.perSecond, 2)}, worker CPU per sample x${fixed(after.workerUs / before.workerUs, 2)}, ` +
        `Redis CPU per sample x${fixed(after.redisUs / before.redisUs, 2)}.`,
      '',
    ].join('\n'),
  );
}

main().then(
  () => process.exit(0),
  (error: Error) => {
    process.stderr.write(`bench:worker-ab: ${error.message}\n`);
    process.exit(1);
  },
);

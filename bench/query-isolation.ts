/**
 * Is the query tail ingest's own event loop or the machine? The same queries run, round by
 * round, while the same background load goes to the queried ingest (they share its event
 * loop), to a second ingest on the same Redis (the queried one only answers queries), or to
 * ingest while the queries go to the bare Koa handler (no Redis, no work: the machine's own
 * scheduling tail); and with no load at all.
 *
 * With --without-worker the worker stops once the query fleet is loaded: the same rounds
 * without applies (Redis only appends, so no apply script holds it while a query waits).
 *
 *   npm run bench:query-isolation -- [--rate 40000] [--rounds 4] [--seconds 6] [--without-worker]
 */
import { Command, Option } from 'commander';
import { SyntheticFleet } from '../cli/load/synthetic-fleet';
import { backgroundLoad } from './background-load';
import { fixed } from './fixed-digits';
import { withMachineLoad } from './machine-load';
import { closedLoop, drain } from './measure';
import { startExtraIngest, startServices, stopProcess } from './services';
import { requireTools, wrk } from './tools';

const QUERY = '/v1/analytics/nodes/average?timeslice=3600';
const PROCESSES = 5;

async function main(): Promise<void> {
  const program = new Command('bench:query-isolation')
    .addOption(new Option('--rate <n>', 'background samples/s').default(40_000).argParser(Number))
    .addOption(new Option('--rounds <n>', 'rounds of every placement').default(4).argParser(Number))
    .addOption(new Option('--seconds <n>', 'seconds of queries per round').default(6).argParser(Number))
    .addOption(new Option('--without-worker', 'stop the worker once the query fleet is loaded'))
    .parse(process.argv);
  const { rate, rounds, seconds, withoutWorker } = program.opts<{
    rate: number;
    rounds: number;
    seconds: number;
    withoutWorker?: boolean;
  }>();
  requireTools();
  const services = await startServices(1, { openApi: true });
  let other: Awaited<ReturnType<typeof startExtraIngest>> | undefined;
  try {
    other = await startExtraIngest(services, {});
    const fleet = new SyntheticFleet({ nodes: 10_000, processes: PROCESSES, timeslice: 10, prefix: 'q' });
    await closedLoop(services.ingestUrl, fleet, { concurrency: 4, batch: 500, total: 10_000 * (1 + PROCESSES), token: '' });
    await drain(services.ingestUrl, '');
    const withWorker = !withoutWorker;
    if (!withWorker) await stopProcess(services.workers[0]!);
    const rows: string[] = [];
    for (let round = 0; round < rounds; round++) {
      for (const target of ['this ingest', 'another ingest', 'this ingest; queries to the bare handler', 'nowhere'] as const) {
        const url = target === 'another ingest' ? other.url : services.ingestUrl;
        const queryUrl = target.includes('bare') ? services.bareUrl : services.ingestUrl;
        const generator =
          target === 'nowhere' ? undefined : await backgroundLoad(url, '', { nodes: 1000, rate, durationMs: (seconds + 2) * 1000 });
        const background = generator?.run();
        await new Promise((r) => setTimeout(r, 1000));
        const queried = (target.includes('bare') ? services.bare.pid : services.ingest.pid) ?? 0;
        const { result, load } = await withMachineLoad(() => wrk(`${queryUrl}${QUERY}`, { connections: 1, seconds, token: '' }), {
          queried,
        });
        const wait = load?.processes[0];
        await background?.finally(() => generator?.stop());
        if (withWorker) await drain(services.ingestUrl, '');
        rows.push(
          `| ${round + 1} | ${target} | ${fixed(result.requestsPerSecond, 0)} | ${fixed(result.p50Ms, 2)} | ${fixed(result.p99Ms, 2)} | ${fixed(load?.busyPercent ?? NaN, 1)} % | ${fixed(wait?.runningPercent ?? NaN, 0)} / ${fixed(wait?.waitingPercent ?? NaN, 0)} % |`,
        );
        console.log(rows[rows.length - 1]);
      }
    }
    console.log(
      `\nqueries ${QUERY}, wrk -c1 ${seconds} s; background ${rate} samples/s in 500-sample batches; ${withWorker ? 'one worker applying' : 'no worker'}\n`,
    );
    console.log(
      '| round | background load goes to | queries/s | p50 ms | p99 ms | machine busy | queried process: on a core / waiting for one |\n|---|---|---|---|---|---|---|',
    );
    console.log(rows.join('\n'));
  } finally {
    if (other) await stopProcess(other.child);
    await services.stop();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});

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
 * With --before <dist> the rounds compare two builds instead: another build's ingest (e.g. a
 * checkout of an older commit, built) runs beside this one on the same Redis, and each round
 * queries each build with the load going to the queried ingest, to a third, and nowhere.
 *
 *   npm run bench:query-isolation -- [--rate 40000] [--rounds 4] [--seconds 6] [--without-worker] [--before <dist>] [--query <path>]
 */
import { resolve } from 'node:path';
import { Command, Option } from 'commander';
import { SyntheticFleet } from '../cli/load/synthetic-fleet';
import { backgroundLoad } from './background-load';
import { fixed } from './fixed-digits';
import { withMachineLoad } from './machine-load';
import { closedLoop, drain } from './measure';
import { startExtraIngest, startServices, stopProcess } from './services';
import { requireTools, wrk } from './tools';

const DEFAULT_QUERY = '/v1/analytics/nodes/average?timeslice=3600';
const PROCESSES = 5;

async function main(): Promise<void> {
  const program = new Command('bench:query-isolation')
    .addOption(new Option('--rate <n>', 'background samples/s').default(40_000).argParser(Number))
    .addOption(new Option('--rounds <n>', 'rounds of every placement').default(4).argParser(Number))
    .addOption(new Option('--seconds <n>', 'seconds of queries per round').default(6).argParser(Number))
    .addOption(new Option('--without-worker', 'stop the worker once the query fleet is loaded'))
    .addOption(new Option('--before <dist>', "compare this build's queries with another build's (its dist/ directory)"))
    .addOption(new Option('--query <path>', 'the query each round asks').default(DEFAULT_QUERY))
    .parse(process.argv);
  const { rate, rounds, seconds, withoutWorker, before, query } = program.opts<{
    rate: number;
    rounds: number;
    seconds: number;
    withoutWorker?: boolean;
    before?: string;
    query: string;
  }>();
  requireTools();
  const services = await startServices(1, { openApi: true });
  let other: Awaited<ReturnType<typeof startExtraIngest>> | undefined;
  let older: Awaited<ReturnType<typeof startExtraIngest>> | undefined;
  try {
    other = await startExtraIngest(services, {});
    if (before !== undefined) older = await startExtraIngest(services, {}, resolve(before));
    const here = { url: services.ingestUrl, pid: services.ingest.pid ?? 0 };
    const bare = { url: services.bareUrl, pid: services.bare.pid ?? 0 };
    const earlier = older && { url: older.url, pid: older.child.pid ?? 0 };
    // Where the background load goes (its ingest's URL), and which process answers the queries.
    const placements: { name: string; loadTo?: string; queries: { url: string; pid: number } }[] = earlier
      ? [
          { name: 'this build, with the load', loadTo: here.url, queries: here },
          { name: 'the build before, with the load', loadTo: earlier.url, queries: earlier },
          { name: 'this build, the load on another ingest', loadTo: other.url, queries: here },
          { name: 'the build before, the load on another ingest', loadTo: other.url, queries: earlier },
          { name: 'this build, no load', queries: here },
          { name: 'the build before, no load', queries: earlier },
        ]
      : [
          { name: 'this ingest', loadTo: here.url, queries: here },
          { name: 'another ingest', loadTo: other.url, queries: here },
          { name: 'this ingest; queries to the bare handler', loadTo: here.url, queries: bare },
          { name: 'nowhere', queries: here },
        ];
    const fleet = new SyntheticFleet({ nodes: 10_000, processes: PROCESSES, timeslice: 10, prefix: 'q' });
    await closedLoop(services.ingestUrl, fleet, { concurrency: 4, batch: 500, total: 10_000 * (1 + PROCESSES), token: '' });
    await drain(services.ingestUrl, '');
    const withWorker = !withoutWorker;
    if (!withWorker) await stopProcess(services.workers[0]!);
    const rows: string[] = [];
    for (let round = 0; round < rounds; round++) {
      for (const { name: target, loadTo, queries } of placements) {
        const generator =
          loadTo === undefined ? undefined : await backgroundLoad(loadTo, '', { nodes: 1000, rate, durationMs: (seconds + 2) * 1000 });
        const background = generator?.run();
        await new Promise((r) => setTimeout(r, 1000));
        const { result, load } = await withMachineLoad(() => wrk(`${queries.url}${query}`, { connections: 1, seconds, token: '' }), {
          queried: queries.pid,
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
      `\nqueries ${query}, wrk -c1 ${seconds} s; background ${rate} samples/s in 500-sample batches; ${withWorker ? 'one worker applying' : 'no worker'}\n`,
    );
    console.log(
      '| round | background load goes to | queries/s | p50 ms | p99 ms | machine busy | queried process: on a core / waiting for one |\n|---|---|---|---|---|---|---|',
    );
    console.log(rows.join('\n'));
  } finally {
    if (older) await stopProcess(older.child);
    if (other) await stopProcess(other.child);
    await services.stop();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});

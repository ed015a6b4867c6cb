/** `nodeagg load`: a synthetic fleet at a target rate (open loop), a live progress bar, and a final report. */
import { Command, Option } from 'commander';
import { SingleBar } from 'cli-progress';
import { durationMs, integerIn, numberIn } from '../arg-parsers';
import { usageError } from '../cli-error';
import { clientOf } from '../global-options';
import { renderLoadReport } from '../load/load-report';
import { runOpenLoop, type LiveCounters } from '../load/open-loop';
import { num, printJson, printLine } from '../output';

interface LoadCommandOptions {
  nodes: number;
  rate: number;
  duration: number;
  batch: number;
  processes: number;
  timeslice: number;
  prefix: string;
  maxInFlight: number;
  freshnessEvery: number;
  timeout: number;
  progress: boolean;
}

function progressBar(total: number): { update(c: LiveCounters): void; stop(): void } {
  const bar = new SingleBar({
    format:
      'load |{bar}| {percentage}% {duration}s | sent {sent} | accepted {accepted} | rejected {rejected} | {rate}/s | in flight {inFlight}',
    barsize: 24,
    hideCursor: true,
    stream: process.stderr,
  });
  bar.start(total, 0, { sent: 0, accepted: 0, rejected: 0, rate: 0, inFlight: 0 });
  return {
    update: (c) =>
      bar.update(c.offered, {
        sent: num(c.sent, 0),
        accepted: num(c.accepted, 0),
        rejected: num(c.rejected, 0),
        rate: num(c.elapsedMs > 0 ? (c.accepted / c.elapsedMs) * 1000 : 0, 0),
        inFlight: c.inFlight,
      }),
    stop: () => bar.stop(),
  };
}

export function loadCommand(): Command {
  return new Command('load')
    .description("offer a synthetic fleet's samples at a fixed rate (open loop) through POST /v1/samples, and report what happened")
    .addOption(new Option('--nodes <n>', 'nodes in the fleet').argParser(integerIn(1, 10_000_000)).default(1000))
    .addOption(
      new Option('--rate <samples/s>', 'samples offered per second (node and process samples together)')
        .argParser(numberIn(0, 10_000_000, { exclusiveMin: true }))
        .default(20000),
    )
    .addOption(new Option('--duration <time>', 'how long to offer load: 30s, 2m, 500ms').argParser(durationMs).default(30_000, '30s'))
    .addOption(new Option('--batch <n>', 'samples per request at most').argParser(integerIn(1, 100_000)).default(500))
    .addOption(new Option('--processes <n>', 'process samples per node sample').argParser(integerIn(0, 1000)).default(5))
    .addOption(new Option('--timeslice <s>', 'timeslice of every sample').argParser(numberIn(0, 86400, { exclusiveMin: true })).default(10))
    .option('--prefix <name>', 'node names are <prefix>-<i>', 'load')
    .addOption(
      new Option('--max-in-flight <n>', 'outstanding requests at most; a batch due beyond this is counted "not-sent"')
        .argParser(integerIn(1, 100_000))
        .default(256),
    )
    .addOption(
      new Option('--freshness-every <time>', 'probe end-to-end freshness (202 to visible via ?after=) this often; 0 = off')
        .argParser((raw) => (raw === '0' ? 0 : durationMs(raw)))
        .default(250, '250ms'),
    )
    .addOption(
      new Option('--timeout <time>', 'a request with no answer in this time counts as "error"')
        .argParser(durationMs)
        .default(30_000, '30s'),
    )
    .option('--no-progress', 'no live progress bar (it is shown only on a terminal anyway)')
    .addHelpText(
      'after',
      '\nThe timetable is fixed: a slow server raises latency and rejections, it never lowers the offered rate.\n' +
        'offered = accepted + rejected; rejected is by HTTP status, "not-sent" (over --max-in-flight) or "error" (no answer).\n' +
        '\nExample:\n  nodeagg load --nodes 1000 --rate 20000 --duration 30s --batch 500 --processes 5',
    )
    .action(async (options: LoadCommandOptions, command: Command) => {
      const { client, globals } = clientOf(command);
      if (!/^[A-Za-z0-9][A-Za-z0-9._:-]{0,200}$/.test(options.prefix)) {
        throw usageError('--prefix must be letters, digits, . _ : - (starting with a letter or digit)');
      }
      // Fail fast with one clear line when the service is down, rather than a report of errors.
      await client.request('/health');
      const total = Math.max(1, Math.round((options.rate * options.duration) / 1000));
      const bar = options.progress && process.stderr.isTTY ? progressBar(total) : undefined;
      const report = await runOpenLoop(
        client,
        {
          nodes: options.nodes,
          processes: options.processes,
          timeslice: options.timeslice,
          prefix: options.prefix,
          rate: options.rate,
          durationMs: options.duration,
          batch: options.batch,
          maxInFlight: options.maxInFlight,
          lingerMs: 100,
          freshnessEveryMs: options.freshnessEvery,
          requestTimeoutMs: options.timeout,
        },
        bar?.update,
      );
      bar?.stop();
      if (globals.json) printJson(report);
      else printLine(renderLoadReport(report));
    });
}

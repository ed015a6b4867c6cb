/**
 * `nodeagg agent`: reports this machine for real. Every interval: node CPU and memory
 * percentages and the top processes by CPU, posted as one batch through the outbox
 * (buffered, retried with backoff, one Idempotency-Key per batch); Ctrl-C stops cleanly.
 */
import { hostname } from 'node:os';
import { Command, Option } from 'commander';
import { toNodeName } from '../agent/agent-names';
import { HostSampler, procAvailable, type HostReading } from '../agent/host-sampler';
import { Outbox } from '../agent/outbox';
import { ProcessSampler, type ProcessReading } from '../agent/process-sampler';
import { integerIn, nodeName, numberIn } from '../arg-parsers';
import { CliError, EXIT } from '../cli-error';
import { clientOf } from '../global-options';
import { num, printJson, printLine } from '../output';
import { onStopSignal } from '../stop-signal';

interface AgentOptions {
  interval: number;
  node?: string;
  top: number;
  buffer: number;
  once?: boolean;
  dryRun?: boolean;
}

export interface Reading {
  at: number;
  node: string;
  timeslice: number;
  cpu: number;
  mem: number;
  processes: { name: string; cpu: number; mem_mb: number; count: number }[];
}

export function readingToItems(r: Reading): Record<string, unknown>[] {
  return [
    { node: r.node, timeslice: r.timeslice, cpu: r.cpu, mem: r.mem, at: r.at },
    ...r.processes.map((p) => ({ node: r.node, process: p.name, timeslice: r.timeslice, cpu_used: p.cpu, mem_used: p.mem_mb, at: r.at })),
  ];
}

function describe(r: Reading): string {
  const top = r.processes.map((p) => `${p.name} ${num(p.cpu, 1)} % ${num(p.mem_mb, 0)} MB`).join(', ');
  return `${new Date(r.at).toISOString().slice(11, 19)}Z ${r.node}  cpu ${num(r.cpu, 1)} %  mem ${num(r.mem, 1)} %${top ? `  top: ${top}` : ''}`;
}

const warn = (line: string) => process.stderr.write(`${line}\n`);

export function agentCommand(): Command {
  return new Command('agent')
    .description('report this machine: CPU and memory percentages and the top processes by CPU, every interval, until Ctrl-C')
    .addOption(new Option('--interval <s>', 'seconds between readings').argParser(numberIn(0.1, 86400)).default(10))
    .addOption(new Option('--node <name>', 'node name to report as (default: this host name, made valid)').argParser(nodeName))
    .addOption(new Option('--top <n>', 'how many processes to report, busiest first (0 = none)').argParser(integerIn(0, 1000)).default(5))
    .addOption(
      new Option('--buffer <batches>', 'batches kept while the service is unreachable; the oldest go first')
        .argParser(integerIn(1, 1_000_000))
        .default(8640),
    )
    .option('--once', 'take one reading over one interval, send it, and exit (non-zero if it was not accepted)')
    .option('--dry-run', 'print the readings without sending them')
    .addHelpText(
      'after',
      '\nCPU % is over each interval (from /proc/stat on Linux); memory % is (MemTotal - MemAvailable) / MemTotal.\n' +
        'Process CPU is percent of one core (may exceed 100), summed over processes of the same name; memory is resident MB.\n' +
        'Process readings need Linux (/proc); elsewhere only node samples are sent.',
    )
    .action(async (options: AgentOptions, command: Command) => {
      const { client, globals } = clientOf(command);
      const node = options.node ?? toNodeName(hostname());
      const intervalMs = options.interval * 1000;
      const host = new HostSampler();
      const processes = procAvailable() && options.top > 0 ? new ProcessSampler() : undefined;
      if (!procAvailable() && options.top > 0)
        warn(
          `note: process readings are supported on Linux only (they come from /proc); on ${process.platform} only node CPU and memory are sent`,
        );

      let lastAt = performance.now();
      const read = (): Reading => {
        const now = performance.now();
        const hostReading: HostReading = host.read();
        const top: ProcessReading[] = processes?.read(options.top) ?? [];
        const reading = {
          at: Date.now(),
          node,
          timeslice: Math.max(0.001, Math.round(now - lastAt) / 1000),
          cpu: hostReading.cpu,
          mem: hostReading.mem,
          processes: top.map((p) => ({ name: p.name, cpu: p.cpu, mem_mb: p.memMb, count: p.count })),
        };
        lastAt = now;
        return reading;
      };
      const show = (r: Reading) => (globals.json ? printJson(r, true) : printLine(describe(r)));

      let failing = false;
      let lastError: CliError | undefined;
      const outbox = new Outbox(
        client,
        {
          delivered: () => {
            if (failing)
              warn(`delivered: the service is accepting again (${outbox.size} batch${outbox.size === 1 ? '' : 'es'} still queued)`);
            failing = false;
          },
          deferred: (error, retryInMs, queued) => {
            lastError = error;
            failing = true;
            if (!options.once)
              warn(
                `delivery failed: ${error.message}; retrying in ${num(retryInMs / 1000, 1)} s (${queued} batch${queued === 1 ? '' : 'es'} buffered)`,
              );
          },
          rejected: (batch, error) => {
            lastError = error;
            warn(`dropped a batch of ${batch.items.length} samples: ${error.message}`);
          },
          overflowed: (batch) =>
            warn(`buffer full (--buffer ${options.buffer}): dropped the oldest batch of ${batch.items.length} samples`),
        },
        { maxBatches: options.buffer },
      );

      const stop = onStopSignal();
      try {
        if (!options.once && !globals.json) {
          warn(
            `agent: reporting ${node} to ${options.dryRun ? '(dry run)' : client.baseUrl} every ${num(options.interval)} s, top ${options.top} processes; Ctrl-C to stop`,
          );
        }
        if (options.once) {
          await stop.sleep(intervalMs);
          const reading = read();
          show(reading);
          if (options.dryRun) return;
          outbox.add(readingToItems(reading));
          await outbox.flush({ ignoreBackoff: true });
          if (outbox.size > 0 || lastError) throw lastError ?? new CliError('the reading was not delivered', EXIT.serviceError);
          return;
        }

        // Sender: wakes when a batch is queued or a retry is due.
        let wake = () => {};
        void stop.whenStopped.then(() => wake());
        const sender = (async () => {
          while (!stop.stopped) {
            if (outbox.size > 0 && Date.now() >= outbox.dueAt) await outbox.flush();
            if (stop.stopped) break;
            const waitMs = outbox.size > 0 ? Math.max(10, outbox.dueAt - Date.now()) : 60_000;
            await new Promise<void>((resolve) => {
              const timer = setTimeout(resolve, waitMs);
              wake = () => {
                clearTimeout(timer);
                resolve();
              };
            });
          }
        })();

        // Readings on a fixed cadence: a slow send never delays the next reading.
        const start = performance.now();
        for (let tick = 1; !stop.stopped; tick++) {
          await stop.sleep(Math.max(0, start + tick * intervalMs - performance.now()));
          if (stop.stopped) break;
          const reading = read();
          show(reading);
          if (!options.dryRun) {
            outbox.add(readingToItems(reading));
            wake();
          }
        }
        await sender;
        // One last attempt for what is queued, bounded so Ctrl-C never hangs.
        if (outbox.size > 0) {
          await Promise.race([outbox.flush({ ignoreBackoff: true }), new Promise((r) => setTimeout(r, 5000).unref())]);
        }
        if (outbox.size > 0)
          warn(`stopped with ${outbox.size} batch${outbox.size === 1 ? '' : 'es'} (${outbox.samples} samples) not delivered`);
        else if (!globals.json) warn('agent: stopped');
      } finally {
        stop.dispose();
      }
    });
}

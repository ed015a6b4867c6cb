/** `nodeagg post`: one node sample, or one process sample with --process. */
import { Command, Option } from 'commander';
import { nodeName, numberIn, processName } from '../arg-parsers';
import { usageError } from '../cli-error';
import { clientOf } from '../global-options';
import { fields, printJson, printLine } from '../output';

interface PostOptions {
  cpu?: number;
  mem?: number;
  process?: string;
  cpuUsed?: number;
  memUsed?: number;
  timeslice: number;
  at?: string;
  idempotencyKey?: string;
}

/** "at" is epoch ms or an RFC 3339 string; the service checks its range. */
function atValue(raw: string): number | string {
  return /^\d+$/.test(raw) ? Number(raw) : raw;
}

export function postCommand(): Command {
  return new Command('post')
    .description("send one sample: node CPU and memory percentages, or with --process one process's CPU % and memory MB")
    .argument('<node>', 'node name', nodeName)
    .addOption(new Option('--cpu <pct>', 'node CPU used, percent (0-100)').argParser(numberIn(0, 100)))
    .addOption(new Option('--mem <pct>', 'node memory used, percent (0-100)').argParser(numberIn(0, 100)))
    .addOption(new Option('--process <name>', 'send a process sample for this process instead').argParser(processName))
    .addOption(new Option('--cpu-used <pct>', 'process CPU, percent of one core (may exceed 100)').argParser(numberIn(0, 1e12)))
    .addOption(new Option('--mem-used <mb>', 'process resident memory, MB').argParser(numberIn(0, 1e12)))
    .addOption(
      new Option('--timeslice <s>', 'seconds the measurement covers (0-86400]')
        .argParser(numberIn(0, 86400, { exclusiveMin: true }))
        .default(10),
    )
    .option('--at <time>', 'when the measurement ended: epoch ms or RFC 3339 (default: when the service receives it)')
    .option('--idempotency-key <key>', 'send an Idempotency-Key so a retried post is counted once')
    .addHelpText(
      'after',
      '\nExamples:\n  nodeagg post web-1 --cpu 20 --mem 30 --timeslice 10\n  nodeagg post web-1 --process nginx --cpu-used 130 --mem-used 512',
    )
    .action(async (node: string, options: PostOptions, command: Command) => {
      const { client, globals } = clientOf(command);
      const headers: Record<string, string> = options.idempotencyKey ? { 'Idempotency-Key': options.idempotencyKey } : {};
      const at = options.at === undefined ? {} : { at: atValue(options.at) };
      let path: string;
      let body: Record<string, unknown>;
      if (options.process !== undefined) {
        if (options.cpu !== undefined || options.mem !== undefined)
          throw usageError('a process sample takes --cpu-used and --mem-used, not --cpu/--mem');
        if (options.cpuUsed === undefined || options.memUsed === undefined)
          throw usageError('a process sample needs both --cpu-used <pct> and --mem-used <mb>');
        path = `/v1/metrics/nodes/${encodeURIComponent(node)}/process/${encodeURIComponent(options.process)}`;
        body = { timeslice: options.timeslice, cpu_used: options.cpuUsed, mem_used: options.memUsed, ...at };
      } else {
        if (options.cpuUsed !== undefined || options.memUsed !== undefined)
          throw usageError('--cpu-used and --mem-used need --process <name>; a node sample takes --cpu and --mem');
        if (options.cpu === undefined || options.mem === undefined)
          throw usageError('a node sample needs both --cpu <pct> and --mem <pct> (or --process for a process sample)');
        path = `/v1/metrics/node/${encodeURIComponent(node)}`;
        body = { timeslice: options.timeslice, cpu: options.cpu, mem: options.mem, ...at };
      }
      const answer = await client.postJson<{ id: string; token: string }>(path, body, headers);
      if (globals.json) return printJson(answer);
      const what = options.process !== undefined ? `process sample ${options.process} on ${node}` : `node sample for ${node}`;
      printLine(`accepted ${what}`);
      printLine(
        fields([
          ['id', answer.id],
          ['token', answer.token],
        ]),
      );
    });
}

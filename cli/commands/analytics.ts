/** `nodeagg average`, `processes`, `process NAME`: the original analytics API, formatted. */
import { Command, Option } from 'commander';
import { numberIn, processName } from '../arg-parsers';
import { clientOf } from '../global-options';
import { fields, num, pct, printJson, printLine } from '../output';

interface WindowOptions {
  timeslice: number;
  after?: string;
}

function windowOptions(command: Command): Command {
  return command
    .addOption(
      new Option('--timeslice <s>', 'seconds of history before the latest sample (0-86400)').argParser(numberIn(0, 86400)).default(60),
    )
    .option('--after <token>', 'wait until the samples of this POST token are aggregated (read-after-write)');
}

export function windowQuery(options: WindowOptions): string {
  const query = new URLSearchParams({ timeslice: String(options.timeslice) });
  if (options.after) query.set('after', options.after);
  return query.toString();
}

interface Average {
  timeslice: number;
  cpu_used: number | null;
  mem_used: number | null;
}

export function averageCommand(): Command {
  return windowOptions(new Command('average'))
    .description('fleet-wide time-weighted CPU and memory average over a window')
    .action(async (options: WindowOptions, command: Command) => {
      const { client, globals } = clientOf(command);
      const answer = await client.request<Average>(`/v1/analytics/nodes/average?${windowQuery(options)}`);
      if (globals.json) return printJson(answer);
      if (answer.cpu_used === null) return printLine('no node samples yet: the fleet is empty');
      printLine(`fleet average over the last ${num(options.timeslice)} s of history`);
      printLine(
        fields([
          ['covers', `${num(answer.timeslice)} s`],
          ['cpu', pct(answer.cpu_used)],
          ['mem', pct(answer.mem_used)],
        ]),
      );
    });
}

export function processesCommand(): Command {
  return windowOptions(new Command('processes'))
    .description('processes with at least one sample in the window, by name')
    .action(async (options: WindowOptions, command: Command) => {
      const { client, globals } = clientOf(command);
      const answer = await client.request<{ timeslice: number; processes: { name: string; url: string }[] }>(
        `/v1/analytics/processes?${windowQuery(options)}`,
      );
      if (globals.json) return printJson(answer);
      if (answer.processes.length === 0) return printLine(`no process samples in the last ${num(options.timeslice)} s of history`);
      printLine(
        `${answer.processes.length} process${answer.processes.length === 1 ? '' : 'es'} in the last ${num(options.timeslice)} s of history (covers ${num(answer.timeslice)} s):`,
      );
      for (const p of answer.processes) printLine(`  ${p.name}`);
    });
}

export function processCommand(): Command {
  return windowOptions(new Command('process'))
    .description('one process across the fleet: time-weighted CPU %, memory MB, and how many nodes run it')
    .argument('<name>', 'process name', processName)
    .action(async (name: string, options: WindowOptions, command: Command) => {
      const { client, globals } = clientOf(command);
      const answer = await client.request<Average & { num_instances: number }>(
        `/v1/analytics/processes/${encodeURIComponent(name)}?${windowQuery(options)}`,
      );
      if (globals.json) return printJson(answer);
      printLine(`process ${name} over the last ${num(options.timeslice)} s of its history`);
      printLine(
        fields([
          ['covers', `${num(answer.timeslice)} s`],
          ['cpu used', pct(answer.cpu_used)],
          ['mem used', `${num(answer.mem_used)} MB`],
          ['nodes', num(answer.num_instances, 0)],
        ]),
      );
    });
}

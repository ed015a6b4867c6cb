/** `nodeagg nodes` and `nodeagg node NAME`: the per-node views, formatted. */
import { Command } from 'commander';
import { nodeName } from '../arg-parsers';
import { clientOf } from '../global-options';
import { fields, num, pct, printJson, printLine, table, when } from '../output';

interface Latest {
  at: string;
  timeslice: number;
  cpu: number;
  mem: number;
}

interface NodeOverview {
  name: string;
  first_seen: string | null;
  last_seen: string | null;
  latest: Latest | null;
}

interface Stat {
  mean: number | null;
  min: number | null;
  max: number | null;
}

interface NodeDetail extends NodeOverview {
  windows: Record<string, { timeslice: number; samples: number; cpu: Stat; mem: Stat }>;
  processes: { name: string; last_seen: string }[];
}

export function nodesCommand(): Command {
  return new Command('nodes')
    .description('every node with a retained sample: last seen and latest CPU and memory')
    .option('--after <token>', 'wait until the samples of this POST token are aggregated')
    .action(async (options: { after?: string }, command: Command) => {
      const { client, globals } = clientOf(command);
      const query = options.after ? `?after=${encodeURIComponent(options.after)}` : '';
      const answer = await client.request<{ count: number; nodes: NodeOverview[] }>(`/v1/nodes${query}`);
      if (globals.json) return printJson(answer);
      if (answer.nodes.length === 0) return printLine('no nodes yet: nothing has been posted (or it is older than 25 h)');
      const rows = answer.nodes.map((n) => [
        n.name,
        when(n.last_seen),
        pct(n.latest?.cpu),
        pct(n.latest?.mem),
        n.latest ? `${num(n.latest.timeslice)} s` : '-',
      ]);
      printLine(table(['NODE', 'LAST SEEN', 'CPU', 'MEM', 'TIMESLICE'], rows));
      printLine(`${num(answer.count, 0)} node${answer.count === 1 ? '' : 's'}`);
    });
}

export function nodeCommand(): Command {
  return new Command('node')
    .description('one node: its latest sample, 1/5/15-minute windows (mean, min, max) and its processes')
    .argument('<name>', 'node name', nodeName)
    .option('--after <token>', 'wait until the samples of this POST token are aggregated')
    .action(async (name: string, options: { after?: string }, command: Command) => {
      const { client, globals } = clientOf(command);
      const query = options.after ? `?after=${encodeURIComponent(options.after)}` : '';
      const answer = await client.request<NodeDetail>(`/v1/nodes/${encodeURIComponent(name)}${query}`);
      if (globals.json) return printJson(answer);
      printLine(
        fields([
          ['node', answer.name],
          ['first seen', when(answer.first_seen)],
          ['last seen', when(answer.last_seen)],
          [
            'latest',
            answer.latest ? `cpu ${pct(answer.latest.cpu)}, mem ${pct(answer.latest.mem)} over ${num(answer.latest.timeslice)} s` : '-',
          ],
        ]),
      );
      printLine();
      const rows = Object.entries(answer.windows).map(([label, w]) => [
        label,
        num(w.samples, 0),
        `${num(w.timeslice)} s`,
        pct(w.cpu.mean),
        pct(w.cpu.min),
        pct(w.cpu.max),
        pct(w.mem.mean),
        pct(w.mem.min),
        pct(w.mem.max),
      ]);
      printLine(table(['WINDOW', 'SAMPLES', 'COVERS', 'CPU MEAN', 'CPU MIN', 'CPU MAX', 'MEM MEAN', 'MEM MIN', 'MEM MAX'], rows));
      printLine();
      if (answer.processes.length === 0) return printLine('no process samples');
      printLine(
        table(
          ['PROCESS', 'LAST SEEN'],
          answer.processes.map((p) => [p.name, when(p.last_seen)]),
        ),
      );
    });
}

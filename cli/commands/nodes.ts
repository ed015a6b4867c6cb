/** `nodeagg nodes` and `nodeagg node NAME`: the per-node views, formatted. */
import { Command } from 'commander';
import { integerIn, nodeName } from '../arg-parsers';
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

interface NodePage {
  count: number;
  total: number;
  nodes: NodeOverview[];
  next: string | null;
}

const COLUMNS = ['NODE', 'LAST SEEN', 'CPU', 'MEM', 'TIMESLICE'];
const row = (n: NodeOverview) => [
  n.name,
  when(n.last_seen),
  pct(n.latest?.cpu),
  pct(n.latest?.mem),
  n.latest ? `${num(n.latest.timeslice)} s` : '-',
];

export function nodesCommand(): Command {
  return new Command('nodes')
    .description('nodes with a retained sample, in name order: last seen and latest CPU and memory')
    .option('--limit <n>', 'show at most this many nodes (following pages as needed)', integerIn(1, 1_000_000), 100)
    .option('--all', 'stream every node, page by page (with --json: one JSON object per line)')
    .option('--prefix <start>', 'only nodes whose name starts with this')
    .option('--after <token>', 'wait until the samples of this POST token are aggregated')
    .action(async (options: { limit: number; all?: boolean; prefix?: string; after?: string }, command: Command) => {
      const { client, globals } = clientOf(command);
      const wanted = options.all ? Infinity : options.limit;
      const query = new URLSearchParams({ limit: String(Math.min(1000, wanted)) });
      if (options.prefix) query.set('prefix', options.prefix);
      if (options.after) query.set('after', options.after);
      let path: string | null = `/v1/nodes?${query}`;
      let shown = 0;
      let total = 0;
      const collected: NodeOverview[] = [];
      while (path !== null && shown < wanted) {
        const page: NodePage = await client.request<NodePage>(path);
        total = page.total;
        const rows = page.nodes.slice(0, wanted - shown);
        shown += rows.length;
        path = page.next;
        if (!options.all) collected.push(...rows);
        else if (globals.json) for (const n of rows) printJson(n, true);
        else if (rows.length > 0) printLine(table(COLUMNS, rows.map(row)));
      }
      if (options.all) {
        if (!globals.json) printLine(`${num(shown, 0)} node${shown === 1 ? '' : 's'}`);
        return;
      }
      if (globals.json) return printJson({ count: collected.length, total, nodes: collected, more: path !== null });
      if (collected.length === 0) return printLine('no nodes yet: nothing has been posted (or it is older than 25 h)');
      printLine(table(COLUMNS, collected.map(row)));
      const more = total > shown ? `; ${num(total - shown, 0)} more (--limit N or --all)` : '';
      printLine(`${num(shown, 0)} of ${num(total, 0)} node${total === 1 ? '' : 's'}${more}`);
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

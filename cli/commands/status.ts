/** `nodeagg status`: the pipeline view (per partition length, lag, pending, consumers, dead letters); --watch refreshes in place. */
import { Command, Option } from 'commander';
import type { ApiClient } from '../api-client';
import { numberIn } from '../arg-parsers';
import { CliError } from '../cli-error';
import { clientOf } from '../global-options';
import { ms, num, printJson, printLine, table, when } from '../output';
import { onStopSignal } from '../stop-signal';

interface Consumer {
  name: string;
  pending: number;
  idle_ms: number;
}

export interface PipelineView {
  partitions: {
    partition: number;
    stream: string;
    length: number;
    lag: number | null;
    pending: number;
    last_delivered_id: string | null;
    consumers: Consumer[];
    last_applied: string | null;
    dead_letters?: number;
    /** Age of the oldest delivered, unacknowledged entry (newer services). */
    oldest_pending_age_ms?: number | null;
  }[];
  totals: { length: number; lag: number; pending: number; consumers: number; oldest_pending_age_ms?: number | null };
  last_applied: string | null;
  /** Added by newer services; absent on older ones. */
  dead_letters?: number;
}

export function renderStatus(view: PipelineView, now = Date.now()): string {
  // Columns only newer services report are shown when present.
  const perPartitionDead = view.partitions.some((p) => typeof p.dead_letters === 'number');
  const oldest = view.partitions.some((p) => 'oldest_pending_age_ms' in p);
  const rows = view.partitions.map((p) => [
    String(p.partition),
    p.stream,
    num(p.length, 0),
    p.lag === null ? '?' : num(p.lag, 0),
    num(p.pending, 0),
    ...(oldest ? [ms(p.oldest_pending_age_ms)] : []),
    num(p.consumers.length, 0),
    ...(perPartitionDead ? [num(p.dead_letters ?? 0, 0)] : []),
    when(p.last_applied, now),
  ]);
  rows.push([
    'total',
    '',
    num(view.totals.length, 0),
    num(view.totals.lag, 0),
    num(view.totals.pending, 0),
    ...(oldest ? [ms(view.totals.oldest_pending_age_ms)] : []),
    num(view.totals.consumers, 0),
    ...(perPartitionDead ? [num(view.dead_letters ?? 0, 0)] : []),
    when(view.last_applied, now),
  ]);
  const headers = [
    'PARTITION',
    'STREAM',
    'LENGTH',
    'LAG',
    'PENDING',
    ...(oldest ? ['OLDEST PENDING'] : []),
    'CONSUMERS',
    ...(perPartitionDead ? ['DEAD'] : []),
    'LAST APPLIED',
  ];
  const out = [table(headers, rows), ''];
  out.push(
    typeof view.dead_letters === 'number'
      ? `dead letters: ${num(view.dead_letters, 0)}${view.dead_letters > 0 ? ' (see: nodeagg dlq list)' : ''}`
      : 'dead letters: not reported by this service',
  );

  // One row per consumer, across the partitions it reads.
  const consumers = new Map<string, { partitions: number; pending: number; idle: number }>();
  for (const p of view.partitions) {
    for (const c of p.consumers) {
      const seen = consumers.get(c.name) ?? { partitions: 0, pending: 0, idle: Infinity };
      consumers.set(c.name, { partitions: seen.partitions + 1, pending: seen.pending + c.pending, idle: Math.min(seen.idle, c.idle_ms) });
    }
  }
  out.push('');
  if (consumers.size === 0) out.push('no consumers: start a worker (npm run start:worker)');
  else
    out.push(
      table(
        ['CONSUMER', 'PARTITIONS', 'PENDING', 'IDLE'],
        [...consumers].map(([name, c]) => [name, String(c.partitions), num(c.pending, 0), ms(c.idle)]),
      ),
    );
  return out.join('\n');
}

async function watch(client: ApiClient, json: boolean, everyMs: number): Promise<void> {
  const stop = onStopSignal();
  const tty = process.stdout.isTTY === true && !json;
  try {
    while (!stop.stopped) {
      let frame: string;
      try {
        const view = await client.request<PipelineView>('/v1/pipeline');
        if (json) {
          printJson({ at: new Date().toISOString(), ...view }, true);
          await stop.sleep(everyMs);
          continue;
        }
        frame = renderStatus(view);
      } catch (caught) {
        if (!(caught instanceof CliError)) throw caught;
        // Keep watching through an outage; the frame says what is wrong.
        if (json) process.stderr.write(`error: ${caught.message}\n`);
        frame = `error: ${caught.message}`;
      }
      const header = `nodeagg status  ${client.baseUrl}  every ${num(everyMs / 1000)} s  ${new Date().toISOString().slice(11, 19)}Z  (Ctrl-C to stop)`;
      // Home + clear screen redraws in place on a terminal; a pipe or file gets one frame after another.
      process.stdout.write(tty ? `\x1b[H\x1b[2J${header}\n\n${frame}\n` : `${header}\n${frame}\n\n`);
      await stop.sleep(everyMs);
    }
  } finally {
    stop.dispose();
  }
}

export function statusCommand(): Command {
  return new Command('status')
    .description('the pipeline: per partition stream length, lag, pending, consumers, dead letters, last applied')
    .addOption(
      new Option('--watch [seconds]', 'refresh in place every few seconds until Ctrl-C (default 2)').argParser(numberIn(0.1, 3600)),
    )
    .action(async (options: { watch?: number | true }, command: Command) => {
      const { client, globals } = clientOf(command);
      if (options.watch !== undefined) return watch(client, globals.json, options.watch === true ? 2000 : options.watch * 1000);
      const view = await client.request<PipelineView>('/v1/pipeline');
      if (globals.json) return printJson(view);
      printLine(renderStatus(view));
    });
}

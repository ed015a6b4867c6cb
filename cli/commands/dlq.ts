/** `nodeagg dlq list|replay|purge`: the dead-letter queue's admin routes. */
import { Command, Option } from 'commander';
import { collect, integerIn } from '../arg-parsers';
import { CliError, EXIT, usageError } from '../cli-error';
import { clientOf } from '../global-options';
import { num, printJson, printLine, table, when } from '../output';

const ROUTE = '/v1/admin/dead-letters';

interface DeadLetter {
  id: string;
  partition: number;
  entry_id: string;
  reason: string;
  failed_at: string | number | null;
  deliveries?: number;
  /** The stream entry as read: field/value pairs. */
  fields?: string[];
  payload?: unknown;
}

/** The entry's content: its field values (the sample lines), or a payload if the service sends one. */
function content(d: DeadLetter): unknown {
  if (Array.isArray(d.fields)) return d.fields.filter((_, i) => i % 2 === 1).join(' ');
  return d.payload;
}

/** A 404 for the route itself (not for one id) means the service predates the dead-letter queue. */
async function admin<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (caught) {
    if (caught instanceof CliError && caught.status === 404 && caught.code === 'NOT_FOUND') {
      throw new CliError(
        `this service has no dead-letter queue routes (404 on ${ROUTE}); upgrade the ingest service`,
        EXIT.serviceError,
        404,
        caught.code,
      );
    }
    throw caught;
  }
}

function short(value: unknown, width: number): string {
  const text = (typeof value === 'string' ? value : (JSON.stringify(value) ?? '')).replace(/\s+/g, ' ');
  return text.length > width ? `${text.slice(0, width - 1)}…` : text;
}

function failedAt(value: string | number | null): string {
  if (value === null || value === undefined) return '-';
  return when(typeof value === 'number' ? new Date(value).toISOString() : value);
}

function listCommand(): Command {
  return new Command('list')
    .description('show dead-lettered entries with their reason')
    .addOption(new Option('--limit <n>', 'at most this many entries').argParser(integerIn(1, 10000)).default(50))
    .action(async (options: { limit: number }, command: Command) => {
      const { client, globals } = clientOf(command);
      const answer = await admin(() => client.request<{ count: number; items: DeadLetter[] }>(`${ROUTE}?limit=${options.limit}`));
      if (globals.json) return printJson(answer);
      if (answer.items.length === 0) return printLine('the dead-letter queue is empty');
      const rows = answer.items.map((d) => [
        d.id,
        String(d.partition),
        d.entry_id,
        d.deliveries === undefined ? '-' : String(d.deliveries),
        short(d.reason, 48),
        failedAt(d.failed_at),
        short(content(d), 40),
      ]);
      printLine(table(['ID', 'PARTITION', 'ENTRY', 'DELIVERIES', 'REASON', 'FAILED AT', 'CONTENT'], rows));
      printLine(`${num(answer.items.length, 0)} shown of ${num(answer.count, 0)}`);
    });
}

const entries = (count: number): string => `${num(count, 0)} entr${count === 1 ? 'y' : 'ies'}`;

function replayCommand(): Command {
  return new Command('replay')
    .description('put dead-lettered entries back on their stream (all of them, or the ids given)')
    .argument('[ids...]', 'dead-letter ids from "nodeagg dlq list" (none = all)')
    .action(async (ids: string[], _options: unknown, command: Command) => {
      const { client, globals } = clientOf(command);
      const answer = await admin(() =>
        client.request<{ replayed: number; already_applied?: number; still_pending?: number }>(`${ROUTE}/replay`, {
          method: 'POST',
          contentType: 'application/json', // required even without a body (no cross-site form can send it)
          ...(ids.length > 0 ? { body: JSON.stringify({ ids }) } : {}),
        }),
      );
      if (globals.json) return printJson(answer);
      printLine(`replayed ${entries(answer.replayed)}`);
      // Older services answer only `replayed`.
      if (answer.already_applied)
        printLine(`dropped ${entries(answer.already_applied)} a worker applied after all (replaying would count them twice)`);
      if (answer.still_pending) printLine(`kept ${entries(answer.still_pending)} still being dead-lettered: replay again in a minute`);
    });
}

function purgeCommand(): Command {
  return new Command('purge')
    .description('delete dead-lettered entries for good (one with --id, or all with --yes)')
    .option('--id <id>', 'purge this dead letter (repeatable)', collect)
    .option('--yes', 'confirm purging every dead letter')
    .action(async (options: { id?: string[]; yes?: boolean }, command: Command) => {
      const { client, globals } = clientOf(command);
      const ids = options.id ?? [];
      if (ids.length === 0 && !options.yes)
        throw usageError('purge deletes every dead letter; pass --yes to confirm, or --id <id> for one');
      let purged = 0;
      if (ids.length === 0) {
        purged = (await admin(() => client.request<{ purged: number }>(ROUTE, { method: 'DELETE' }))).purged;
      } else {
        for (const id of ids) {
          purged += (await admin(() => client.request<{ purged: number }>(`${ROUTE}?id=${encodeURIComponent(id)}`, { method: 'DELETE' })))
            .purged;
        }
      }
      if (globals.json) return printJson({ purged });
      printLine(`purged ${num(purged, 0)} entr${purged === 1 ? 'y' : 'ies'}`);
    });
}

export function dlqCommand(): Command {
  return new Command('dlq')
    .description('the dead-letter queue: entries the workers could not aggregate')
    .addCommand(listCommand())
    .addCommand(replayCommand())
    .addCommand(purgeCommand());
}

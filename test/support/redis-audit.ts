// Reads what Redis holds after a fault: stream entries against the 202s, consumers, pending, connections.
import type { Config } from '../../shared/config';
import { allPartitionKeys } from '../../shared/store/keys';
import { compareIds } from '../../shared/stream-ids';
import { createRedisClient, type RedisClient } from '../../shared/redis';
import { fleetTotals, perNodeCounts } from './aggregate-totals';
import { describeOutcome } from './http-outcomes';
import type { AcceptedTotals, LoadGenerator, RequestRecord } from './batch-load-generator';

/** The test's own connection to Redis (direct), patient enough for a busy machine. */
export async function connectAdmin(config: Config): Promise<RedisClient> {
  const admin = createRedisClient(config, { connectionName: 'fault-test-admin', commandTimeoutMs: 15_000 });
  await admin.connect();
  return admin;
}

function toRecord(fields: unknown): Record<string, unknown> {
  const record: Record<string, unknown> = {};
  const list = fields as unknown[];
  for (let i = 0; i + 1 < list.length; i += 2) record[String(list[i])] = list[i + 1];
  return record;
}

/** Entries ever appended to the partition streams (XINFO STREAM entries-added, blind to trimming). */
export async function entriesAdded(redis: RedisClient, prefix: string, partitions: number): Promise<number> {
  let added = 0;
  for (const keys of allPartitionKeys(prefix, partitions)) {
    added += Number(toRecord(await redis.xinfo('STREAM', keys.stream))['entries-added']);
  }
  return added;
}

export interface StreamAudit {
  /** Entries ever appended to the partition streams (XINFO STREAM entries-added). */
  entriesAdded: number;
  /** Entries the 202 responses reported. */
  entriesAccepted: number;
  /** Entries in a stream that no 202 reported (appended for a request that was not accepted). */
  unreported: string[];
  /** The sample lines of each unreported entry, to find its requests (a group commit puts several requests in one entry). */
  unreportedLines: Map<string, string[]>;
  /** Entries a 202 reported that are neither in the stream nor trimmed away. */
  missing: string[];
}

/**
 * Compares the partition streams with the entries the 202 answers reported. Robust to
 * trimming: an entry older than a stream's first one, or at or below its
 * max-deleted-entry-id, may be gone.
 */
export async function auditStreams(redis: RedisClient, prefix: string, partitions: number, accepted: AcceptedTotals): Promise<StreamAudit> {
  const audit: StreamAudit = {
    entriesAdded: 0,
    entriesAccepted: accepted.entries.size,
    unreported: [],
    unreportedLines: new Map(),
    missing: [],
  };
  const present = new Set<string>();
  const trimmedUpTo = new Map<number, string>();
  for (const keys of allPartitionKeys(prefix, partitions)) {
    audit.entriesAdded += Number(toRecord(await redis.xinfo('STREAM', keys.stream))['entries-added']);
    let start = '-';
    for (;;) {
      const entries = (await redis.xrange(keys.stream, start, '+', 'COUNT', 1000)) as [string, string[]][];
      for (const [id, fields] of entries) {
        const key = `${keys.partition}/${id}`;
        present.add(key);
        if (accepted.entries.has(key)) continue;
        audit.unreported.push(key);
        audit.unreportedLines.set(key, sampleLines(fields));
      }
      if (entries.length < 1000) break;
      start = `(${entries[entries.length - 1]![0]}`;
    }
    // The trim bound is read after the scan: the maintenance job may trim while it runs, and
    // trimming only removes from the front, so this bound covers whatever the scan missed.
    const info = toRecord(await redis.xinfo('STREAM', keys.stream));
    const first = (info['first-entry'] as [string, string[]] | null)?.[0];
    const maxDeleted = String(info['max-deleted-entry-id'] ?? '0-0');
    // Everything before the first entry may have been trimmed (all of it when the stream is empty).
    const beforeFirst = first === undefined ? String(info['last-generated-id']) : previousId(first);
    trimmedUpTo.set(keys.partition, compareIds(beforeFirst, maxDeleted) > 0 ? beforeFirst : maxDeleted);
  }
  for (const key of accepted.entries) {
    if (present.has(key)) continue;
    const [partition, id] = key.split('/') as [string, string];
    if (compareIds(id, trimmedUpTo.get(Number(partition)) ?? '0-0') > 0) audit.missing.push(key);
  }
  return audit;
}

/** The id just before `id` (for "older than the first entry"). */
function previousId(id: string): string {
  const [ms = '0', seq = '0'] = id.split('-');
  if (BigInt(seq) > 0n) return `${ms}-${BigInt(seq) - 1n}`;
  return BigInt(ms) > 0n ? `${BigInt(ms) - 1n}-18446744073709551615` : '0-0';
}

/**
 * Explains each entry no 202 reported: when Redis stored it relative to `marks` (e.g. the
 * crash and the restart) and which request it came from and how that request was answered.
 */
export function explainUnreported(audit: StreamAudit, load: LoadGenerator, marks: Record<string, number>): string[] {
  const relative = (t: number) =>
    Object.entries(marks)
      .map(([name, at]) => `${name}${t - at >= 0 ? '+' : ''}${t - at} ms`)
      .join(', ');
  return audit.unreported.map((key) => {
    const storedAt = Number(key.split('/')[1]!.split('-')[0]);
    const requests = requestsOf(audit, key, load);
    const origin = requests
      .map(
        (r) =>
          `request #${r.seq} sent at ${relative(r.startedAt)}, answered after ${r.endedAt - r.startedAt} ms: ${describeOutcome(r.outcome)}`,
      )
      .join(' | ');
    return `entry ${key} stored at ${relative(storedAt)}; ${origin || 'no matching request'}`;
  });
}

/**
 * Entries no 202 reported are allowed only for requests answered 503 OUTCOME_UNKNOWN
 * (Redis stopped answering mid-write: maybe stored). Returns those requests, and a line
 * for every entry that no such request explains.
 */
export function storedWithUnknownOutcome(audit: StreamAudit, load: LoadGenerator): { requests: Set<number>; unexplained: string[] } {
  const requests = new Set<number>();
  const unexplained: string[] = [];
  for (const key of audit.unreported) {
    const origins = requestsOf(audit, key, load);
    const unknown = origins.filter(
      (r) =>
        r.outcome.kind === 'response' &&
        r.outcome.status === 503 &&
        (r.outcome.body as { error?: { code?: string } })?.error?.code === 'OUTCOME_UNKNOWN',
    );
    if (unknown.length === 0) unexplained.push(key);
    for (const r of unknown) requests.add(r.seq);
  }
  return { requests, unexplained };
}

export interface CountCheck {
  counted: number;
  cpuSeconds: number;
  memSeconds: number;
  /** Nodes whose aggregated count differs from what the 202s accepted: node, expected, counted. */
  wrongNodes: [string, number, number][];
}

/** Counts every sample in the aggregates and compares per node with what the 202s accepted. */
export async function countAggregates(
  redis: RedisClient,
  prefix: string,
  partitions: number,
  nodes: readonly string[],
  accepted: AcceptedTotals,
): Promise<CountCheck> {
  const totals = await fleetTotals(redis, prefix, partitions);
  const perNode = await perNodeCounts(redis, prefix, partitions, [...nodes]);
  const wrongNodes: [string, number, number][] = [];
  for (const node of nodes) {
    const expected = accepted.perNode.get(node) ?? 0;
    const counted = perNode.get(node) ?? 0;
    if (expected !== counted) wrongNodes.push([node, expected, counted]);
  }
  return { counted: totals.samples, cpuSeconds: totals.cpuSeconds, memSeconds: totals.memSeconds, wrongNodes };
}

/** Entries delivered to `consumer` and not yet acknowledged, over every partition. */
export async function pendingOf(redis: RedisClient, prefix: string, partitions: number, group: string, consumer: string): Promise<number> {
  const pipeline = redis.pipeline();
  for (const keys of allPartitionKeys(prefix, partitions)) pipeline.xpending(keys.stream, group, '-', '+', 1000, consumer);
  const replies = (await pipeline.exec()) ?? [];
  let held = 0;
  for (const [error, pending] of replies) {
    if (error) throw error;
    held += (pending as unknown[]).length;
  }
  return held;
}

export interface ConsumerInfo {
  partition: number;
  name: string;
  pending: number;
}

/** XINFO CONSUMERS of every partition stream. */
export async function groupConsumers(redis: RedisClient, prefix: string, partitions: number, group: string): Promise<ConsumerInfo[]> {
  const consumers: ConsumerInfo[] = [];
  for (const keys of allPartitionKeys(prefix, partitions)) {
    const reply = (await redis.xinfo('CONSUMERS', keys.stream, group)) as unknown[];
    for (const fields of reply) {
      const info = toRecord(fields);
      consumers.push({ partition: keys.partition, name: String(info.name), pending: Number(info.pending) });
    }
  }
  return consumers;
}

/** True when both maps hold the same names with the same counts. */
export function sameCounts(a: ReadonlyMap<string, number>, b: ReadonlyMap<string, number>): boolean {
  if (a.size !== b.size) return false;
  for (const [name, n] of a) if (b.get(name) !== n) return false;
  return true;
}

/**
 * A worker's apply-transaction connection (`<name>:tx`): made as applies run at the same
 * time, so their number varies from moment to moment (at most one per partition).
 */
export function isTransactionConnection(name: string): boolean {
  return name.endsWith(':tx');
}

/** Client connections by name (CLIENT LIST), for names passing `filter`. */
export async function connectionsByName(redis: RedisClient, filter: (name: string) => boolean): Promise<Map<string, number>> {
  const list = (await redis.client('LIST')) as string;
  const counts = new Map<string, number>();
  for (const line of list.split('\n')) {
    const name = /(?:^| )name=(\S*)/.exec(line)?.[1];
    if (name === undefined || !filter(name)) continue;
    counts.set(name, (counts.get(name) ?? 0) + 1);
  }
  return counts;
}

function sampleLines(fields: readonly string[]): string[] {
  for (let i = 0; i + 1 < fields.length; i += 2) {
    if (fields[i] === 'd') return fields[i + 1]!.split('\n');
  }
  return [];
}

/** The requests whose samples an unreported entry holds, each once. */
function requestsOf(audit: StreamAudit, key: string, load: LoadGenerator): RequestRecord[] {
  const found = new Map<number, RequestRecord>();
  for (const line of audit.unreportedLines.get(key) ?? []) for (const r of load.requestsWithLine(line)) found.set(r.seq, r);
  return [...found.values()];
}

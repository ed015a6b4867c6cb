/**
 * Appends samples (append-samples.lua): a group of requests in one atomic script call, one
 * entry per partition carrying every request's lines, each keyed request's idempotency
 * records written with them. Builds the keys and arguments and maps the script's numeric
 * replies to typed results; callers never see either.
 */
import type { RedisClient } from '../redis';
import { ENTRY_FIELD, GROUP_FIELD } from './entry-codec';
import { partitionKeys, type PartitionKeys } from './keys';
import { registerScripts } from './scripts';

/** One request's encoded sample lines for one partition. */
export interface PartitionLines {
  partition: number;
  lines: string;
}

export interface IdempotencyRecord {
  /** The Idempotency-Key's hash (any visible characters are safe in a key). */
  keyHash: string;
  /** What the request asked for; the same key with another fingerprint is a conflict. */
  fingerprint: string;
  ttlSeconds: number;
}

export interface AppendRequest {
  /** The request's lines, one part per partition, in partition order. */
  parts: readonly PartitionLines[];
  samples: number;
  idempotency?: IdempotencyRecord;
}

export type AppendOutcome =
  /** ids: the entry holding the request's lines in each of its partitions, in its parts' order. */
  | { kind: 'stored'; ids: string[]; accepted: number; replayed: boolean }
  /** Its Idempotency-Key was used for another request: nothing appended. */
  | { kind: 'conflict' };

export type GroupAppendResult =
  { kind: 'appended'; outcomes: AppendOutcome[] } | { kind: 'paused' } | { kind: 'recount'; partitions: number };

/** Where a request whose reply was lost stands, per partition, as Redis shows it now. */
export type PartStatus = { kind: 'stored'; id: string } | { kind: 'absent' } | { kind: 'conflict' };

/** The script's reply codes (append-samples.lua). */
const GROUP_APPENDED = 0;
const GROUP_PAUSED = 1;
const GROUP_RECOUNT = 2;
const REQUEST_APPENDED = 0;
const REQUEST_RECORDED = 1;
const REQUEST_CONFLICT = 2;

/** Clock skew allowed between ingest and Redis when bounding a search by time. */
const CLOCK_SKEW_MS = 10_000;
const SEARCH_PAGE = 500;

function parseRecord(record: string): { fingerprint: string; id: string } | undefined {
  const [fingerprint, , id] = record.split(' ');
  return fingerprint !== undefined && id !== undefined ? { fingerprint, id } : undefined;
}

/** Each request's outcome from an appended group's reply: {0, entry ids, per keyed request its code [, accepted, ids]}. */
function outcomesOf(reply: (string | number)[], requests: readonly AppendRequest[], streamIndex: Map<number, number>): AppendOutcome[] {
  const entryIds = reply.slice(1, streamIndex.size + 1).map(String);
  let at = streamIndex.size + 1;
  return requests.map((request): AppendOutcome => {
    const appendedIds = () => request.parts.map((part) => entryIds[streamIndex.get(part.partition)! - 1]!);
    if (!request.idempotency) return { kind: 'stored', ids: appendedIds(), accepted: request.samples, replayed: false };
    const code = reply[at++];
    if (code === REQUEST_APPENDED) return { kind: 'stored', ids: appendedIds(), accepted: request.samples, replayed: false };
    if (code === REQUEST_CONFLICT) return { kind: 'conflict' };
    if (code !== REQUEST_RECORDED) throw new Error(`append-samples replied ${String(code)} for a request`);
    const accepted = Number(reply[at++]);
    const ids = request.parts.map(() => String(reply[at++]));
    // Replayed only when nothing of it was appended now (a retry after a partial failure appends the rest).
    const appended = appendedIds();
    return { kind: 'stored', ids, accepted, replayed: ids.every((id, i) => id !== appended[i]) };
  });
}

export class SampleAppender {
  private readonly partitions: PartitionKeys[];

  constructor(
    private readonly redis: RedisClient,
    prefix: string,
    partitionCount: number,
  ) {
    registerScripts(redis);
    this.partitions = Array.from({ length: partitionCount }, (_, p) => partitionKeys(prefix, p, partitionCount));
  }

  /** True while the connection is up (a lost reply can be settled only then). */
  get connected(): boolean {
    return this.redis.status === 'ready';
  }

  /**
   * Appends every request of a group in one call over all their partitions (atomic on one
   * Redis). The script itself takes any subset of partitions, so a cluster can make one
   * call per partition instead.
   */
  async append(groupId: string, requests: readonly AppendRequest[]): Promise<GroupAppendResult> {
    const call = this.scriptCall(groupId, requests);
    const reply = await this.redis.appendSamples(call.args);
    if (reply[0] === GROUP_PAUSED) return { kind: 'paused' };
    if (reply[0] === GROUP_RECOUNT) return { kind: 'recount', partitions: Number(reply[1]) };
    if (reply[0] !== GROUP_APPENDED) throw new Error(`append-samples replied ${String(reply[0])}`);
    return { kind: 'appended', outcomes: outcomesOf(reply, requests, call.streamIndex) };
  }

  /** The script's keys and arguments (append-samples.lua documents them). */
  private scriptCall(groupId: string, requests: readonly AppendRequest[]): { args: (string | number)[]; streamIndex: Map<number, number> } {
    const touched = new Set<number>();
    for (const request of requests) for (const part of request.parts) touched.add(part.partition);
    const order = [...touched].sort((a, b) => a - b);
    const streamIndex = new Map(order.map((p, i) => [p, i + 1]));
    const keys: string[] = order.map((p) => this.partitions[p]!.stream);
    for (const p of order) keys.push(this.partitions[p]!.meta);
    // Requests without a key need no reply of their own: their lines go in as one pseudo-request.
    const unkeyed = new Map<number, string[]>();
    const keyed: AppendRequest[] = [];
    for (const request of requests) {
      if (request.idempotency) {
        keyed.push(request);
        continue;
      }
      for (const { partition, lines } of request.parts) {
        const joined = unkeyed.get(partition);
        if (joined) joined.push(lines);
        else unkeyed.set(partition, [lines]);
      }
    }
    const args: (string | number)[] = [
      this.partitions.length,
      order.length,
      groupId,
      ENTRY_FIELD,
      GROUP_FIELD,
      keyed.length + (unkeyed.size > 0 ? 1 : 0),
    ];
    if (unkeyed.size > 0) {
      args.push('', 0, 0, unkeyed.size);
      for (const [partition, lines] of unkeyed) args.push(streamIndex.get(partition)!, lines.join('\n'));
    }
    for (const request of keyed) {
      const { keyHash, fingerprint, ttlSeconds } = request.idempotency!;
      args.push(fingerprint, ttlSeconds, request.samples, request.parts.length);
      for (const { partition, lines } of request.parts) {
        keys.push(this.partitions[partition]!.idempotency(keyHash));
        args.push(streamIndex.get(partition)!, lines);
      }
    }
    return { args: [keys.length, ...keys, ...args], streamIndex };
  }

  /**
   * For a write whose reply was lost: the entry carrying `groupId` in each partition, or
   * null where there is none among the entries appended since `sinceMs`.
   */
  async findGroupEntries(partitions: readonly number[], groupId: string, sinceMs: number): Promise<(string | null)[]> {
    return Promise.all(partitions.map((p) => this.findEntry(this.partitions[p]!.stream, groupId, sinceMs)));
  }

  /** For a keyed request whose reply was lost: what its records say, per part. */
  async readRecords(request: AppendRequest): Promise<PartStatus[]> {
    const { keyHash, fingerprint } = request.idempotency!;
    const records = await Promise.all(request.parts.map((part) => this.redis.get(this.partitions[part.partition]!.idempotency(keyHash))));
    return records.map((record): PartStatus => {
      if (record === null) return { kind: 'absent' };
      const parsed = parseRecord(record);
      return parsed?.fingerprint === fingerprint ? { kind: 'stored', id: parsed.id } : { kind: 'conflict' };
    });
  }

  private async findEntry(stream: string, groupId: string, sinceMs: number): Promise<string | null> {
    let end = '+';
    const floor = `${Math.max(0, sinceMs - CLOCK_SKEW_MS)}-0`;
    for (;;) {
      const page = await this.redis.xrevrange(stream, end, floor, 'COUNT', SEARCH_PAGE);
      for (const [id, fields] of page) {
        for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i] === GROUP_FIELD && fields[i + 1] === groupId) return id;
      }
      if (page.length < SEARCH_PAGE) return null;
      end = `(${page[page.length - 1]![0]}`;
    }
  }
}

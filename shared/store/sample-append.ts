/**
 * Appends samples (append-samples.lua): a group of requests in one atomic script call, one
 * entry per partition carrying every request's lines, each keyed request's idempotency
 * records written with them. On a Redis Cluster, where one call cannot span partitions'
 * slots, the group goes in one call per partition, in parallel; each request then gets its
 * own outcome from its partitions' replies. Builds the keys and arguments and maps the
 * script's numeric replies to typed results; callers never see either.
 */
import { isCluster, type RedisClient } from '../redis';
import { encodeBulkStrings } from './encoded-script';
import { ENTRY_FIELD, GROUP_FIELD } from './entry-codec';
import { globalKeys, partitionKeys, type PartitionKeys } from './keys';
import { encodedScript, registerScripts } from './scripts';
import { TransactionAppend } from './transaction-append';
import { TransactionConnections } from './transaction-connections';

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

/** ids: the entry holding the request's lines in each of its partitions, in its parts' order. */
export type StoredOutcome = { kind: 'stored'; ids: string[]; accepted: number; replayed: boolean };

export type AppendOutcome =
  | StoredOutcome
  /** Its Idempotency-Key was used for another request: nothing appended. */
  | { kind: 'conflict' };

/**
/**
 * A request of a group written per partition (Redis Cluster) whose partitions did not all
 * go through: one was paused by a partition count change, or its call failed (`partlyStored`:
 * another partition's call stored its part).
 */
export type PartitionedOutcome = { kind: 'paused' } | { kind: 'failed'; error: unknown; partlyStored: boolean };

/**
 * Stored on the master, but fewer replicas than asked for (ReplicaWait) confirmed it in time:
 * a failover now could lose it. `stored`: what the master answered.
 */
export type UnreplicatedOutcome = { kind: 'unreplicated'; stored: StoredOutcome };

/** A request's outcome in a group: its own, unconfirmed by replicas, or (cluster) partitioned. */
export type RequestOutcome = AppendOutcome | UnreplicatedOutcome | PartitionedOutcome;

export type GroupAppendResult =
  { kind: 'appended'; outcomes: RequestOutcome[] } | { kind: 'paused' } | { kind: 'recount'; partitions: number };

/** Replicas that must confirm each append (Redis WAIT) before it counts as done. */
export interface ReplicaWait {
  replicas: number;
  timeoutMs: number;
}

/** Where a request whose reply was lost stands, per partition, as Redis shows it now. */
export type PartStatus = { kind: 'stored'; id: string } | { kind: 'absent' } | { kind: 'conflict' };

/** 'auto': a transaction where one can go (one Redis, no Idempotency-Key), else the script. */
export type AppendMethod = 'auto' | 'script';

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

/** The requests' lines joined per partition (in request order), partitions in the order first met. */
function linesByPartition(requests: readonly AppendRequest[]): Map<number, string> {
  const parts = new Map<number, string[]>();
  for (const request of requests) {
    for (const { partition, lines } of request.parts) {
      const joined = parts.get(partition);
      if (joined) joined.push(lines);
      else parts.set(partition, [lines]);
    }
  }
  return new Map([...parts].map(([partition, lines]) => [partition, lines.join('\n')]));
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

/**
 * One request's outcome from the outcomes of its parts, each written by its partition's call.
 * A part stored but unconfirmed by replicas leaves the whole request unconfirmed.
 */
function mergePartOutcomes(request: AppendRequest, parts: readonly RequestOutcome[]): RequestOutcome {
  if (parts.some((part) => part.kind === 'conflict')) return { kind: 'conflict' };
  const unconfirmed = parts.some((part) => part.kind === 'unreplicated');
  const stored = parts.flatMap((part) => (part.kind === 'stored' ? [part] : part.kind === 'unreplicated' ? [part.stored] : []));
  const failed = parts.find((part): part is Extract<PartitionedOutcome, { kind: 'failed' }> => part.kind === 'failed');
  if (failed) return { ...failed, partlyStored: stored.some((part) => !part.replayed) || failed.partlyStored };
  if (stored.length < parts.length) return { kind: 'paused' };
  const earlier = stored.find((part) => part.replayed);
  const merged: StoredOutcome = {
    kind: 'stored',
    ids: stored.map((part) => part.ids[0]!),
    accepted: earlier?.accepted ?? request.samples,
    replayed: stored.every((part) => part.replayed),
  };
  return unconfirmed ? { kind: 'unreplicated', stored: merged } : merged;
}

export class SampleAppender {
  private readonly partitions: PartitionKeys[];
  /** On one Redis, groups without Idempotency-Keys go in a transaction instead of the script. */
  private readonly transactions: TransactionAppend | undefined;

  constructor(
    private readonly redis: RedisClient,
    prefix: string,
    partitionCount: number,
    /** Absent or 0 replicas: an append is done once the master has it. */
    readonly replicaWait?: ReplicaWait,
    /** 'script': every group through append-samples.lua, as on a cluster (the benchmark's comparison). */
    method: AppendMethod = 'auto',
  ) {
    registerScripts(redis);
    this.partitions = Array.from({ length: partitionCount }, (_, p) => partitionKeys(prefix, p, partitionCount));
    if (!isCluster(redis) && method === 'auto') {
      this.transactions = new TransactionAppend(new TransactionConnections(redis), globalKeys(prefix), partitionCount, replicaWait);
    }
  }

  /** True when appends wait for replicas: an outcome settled after a lost reply has no confirmation. */
  get waitsForReplicas(): boolean {
    return (this.replicaWait?.replicas ?? 0) > 0;
  }

  /** True while the connection is up (a lost reply can be settled only then). */
  get connected(): boolean {
    return this.redis.status === 'ready';
  }

  /**
   * Appends every request of a group: on one Redis in one call over all their partitions
   * (atomic), on a cluster in one call per partition. A failed call throws on one Redis; on
   * a cluster it fails the requests with a part in that partition (the others stand).
   */
  async append(groupId: string, requests: readonly AppendRequest[]): Promise<GroupAppendResult> {
    if (isCluster(this.redis)) return this.appendPerPartition(groupId, requests);
    if (this.transactions && requests.every((request) => !request.idempotency)) return this.appendInTransaction(groupId, requests);
    return this.appendInOneCall(groupId, requests);
  }

  /** Requests without keys need no records: their lines, joined per partition, in one transaction. */
  private async appendInTransaction(groupId: string, requests: readonly AppendRequest[]): Promise<GroupAppendResult> {
    const lines = linesByPartition(requests);
    const order = [...lines.keys()].sort((a, b) => a - b);
    const result = await this.transactions!.append(
      groupId,
      order.map((p) => ({ stream: this.partitions[p]!.stream, lines: lines.get(p)! })),
    );
    if (result.kind !== 'appended') return result;
    const idOf = new Map(order.map((p, i) => [p, result.ids[i]!]));
    return {
      kind: 'appended',
      outcomes: requests.map((request): RequestOutcome => {
        const stored: StoredOutcome = {
          kind: 'stored',
          ids: request.parts.map((part) => idOf.get(part.partition)!),
          accepted: request.samples,
          replayed: false,
        };
        return result.replicated ? stored : { kind: 'unreplicated', stored };
      }),
    };
  }

  private async appendInOneCall(groupId: string, requests: readonly AppendRequest[]): Promise<GroupAppendResult> {
    const call = this.scriptCall(groupId, requests);
    const { reply, replicated } = await this.run(call.keys, call.args);
    if (reply[0] === GROUP_PAUSED) return { kind: 'paused' };
    if (reply[0] === GROUP_RECOUNT) return { kind: 'recount', partitions: Number(reply[1]) };
    if (reply[0] !== GROUP_APPENDED) throw new Error(`append-samples replied ${String(reply[0])}`);
    const outcomes = outcomesOf(reply, requests, call.streamIndex);
    if (replicated) return { kind: 'appended', outcomes };
    return {
      kind: 'appended',
      outcomes: outcomes.map((outcome) => (outcome.kind === 'stored' ? { kind: 'unreplicated', stored: outcome } : outcome)),
    };
  }

  /**
   * One script call, followed by WAIT when replicas must confirm it. WAIT counts the writes
   * of its own connection on its own master, so both go in one pipeline: same connection,
   * nothing of ours in between, and on a cluster the node of the call's keys (ioredis routes
   * a pipeline by its keys; WAIT has none). A WAIT that fails or falls short leaves the
   * script's outcome known but unconfirmed (its stored requests: `unreplicated`). The
   * arguments are encoded here (encoded-script.ts): ioredis's own encoding of a call's
   * arguments cost ingest more than the rest of the append (docs/BENCHMARKS.md).
   */
  private async run(
    keys: readonly string[],
    args: readonly (string | number)[],
  ): Promise<{ reply: (string | number)[]; replicated: boolean }> {
    const script = encodedScript('appendSamples');
    const encoded = encodeBulkStrings(args);
    const wait = this.replicaWait;
    if (!wait || wait.replicas === 0) {
      return { reply: (await script.call(this.redis, keys, encoded, args.length)) as (string | number)[], replicated: true };
    }
    const [appended, waited] = await script.callThen(this.redis, keys, encoded, args.length, (pipeline) =>
      pipeline.wait(wait.replicas, wait.timeoutMs),
    );
    if (!appended) throw new Error('the append pipeline returned no reply');
    if (appended[0]) throw appended[0];
    const confirmations = waited && !waited[0] ? Number(waited[1]) : 0;
    return { reply: appended[1] as (string | number)[], replicated: confirmations >= wait.replicas };
  }

  /**
   * One call per partition touched, each with every request's part in that partition (a
   * keyed request's record there goes with it), in parallel; each request's outcome merges
   * its parts' outcomes. A retry of a keyed request whose partitions did not all go through
   * appends only the parts whose records are missing.
   */
  private async appendPerPartition(groupId: string, requests: readonly AppendRequest[]): Promise<GroupAppendResult> {
    const members = new Map<number, { request: number; part: number }[]>();
    requests.forEach((request, r) =>
      request.parts.forEach((part, q) => {
        const list = members.get(part.partition);
        if (list) list.push({ request: r, part: q });
        else members.set(part.partition, [{ request: r, part: q }]);
      }),
    );
    const calls = [...members].map(async ([, list]) => {
      const slice = list.map(({ request, part }) => ({ ...requests[request]!, parts: [requests[request]!.parts[part]!] }));
      return this.appendInOneCall(groupId, slice);
    });
    const settled = await Promise.allSettled(calls);
    const recount = settled.find((s) => s.status === 'fulfilled' && s.value.kind === 'recount');
    if (recount) return (recount as PromiseFulfilledResult<GroupAppendResult>).value;
    if (settled.every((s) => s.status === 'fulfilled' && s.value.kind === 'paused')) return { kind: 'paused' };
    // Per request, its parts' outcomes in its parts' order.
    const parts = requests.map((request) => new Array<RequestOutcome>(request.parts.length));
    [...members.values()].forEach((list, call) => {
      const result = settled[call]!;
      list.forEach(({ request, part }, i) => {
        parts[request]![part] =
          result.status === 'rejected'
            ? { kind: 'failed', error: result.reason, partlyStored: false }
            : result.value.kind === 'appended'
              ? result.value.outcomes[i]!
              : { kind: 'paused' };
      });
    });
    return { kind: 'appended', outcomes: parts.map((outcomes, r) => mergePartOutcomes(requests[r]!, outcomes)) };
  }

  /** The script's keys and arguments (append-samples.lua documents them). */
  private scriptCall(
    groupId: string,
    requests: readonly AppendRequest[],
  ): { keys: string[]; args: (string | number)[]; streamIndex: Map<number, number> } {
    const touched = new Set<number>();
    for (const request of requests) for (const part of request.parts) touched.add(part.partition);
    const order = [...touched].sort((a, b) => a - b);
    const streamIndex = new Map(order.map((p, i) => [p, i + 1]));
    const keys: string[] = order.map((p) => this.partitions[p]!.stream);
    for (const p of order) keys.push(this.partitions[p]!.meta);
    // Requests without a key need no reply of their own: their lines go in as one pseudo-request.
    const unkeyed = linesByPartition(requests.filter((request) => !request.idempotency));
    const keyed = requests.filter((request) => request.idempotency);
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
      for (const [partition, lines] of unkeyed) args.push(streamIndex.get(partition)!, lines);
    }
    for (const request of keyed) {
      const { keyHash, fingerprint, ttlSeconds } = request.idempotency!;
      args.push(fingerprint, ttlSeconds, request.samples, request.parts.length);
      for (const { partition, lines } of request.parts) {
        keys.push(this.partitions[partition]!.idempotency(keyHash));
        args.push(streamIndex.get(partition)!, lines);
      }
    }
    return { keys, args, streamIndex };
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

/**
 * Appends a group of requests without Idempotency-Keys on one Redis (not a cluster) with
 * native commands: one XADD per partition in one MULTI/EXEC, atomic as append-samples.lua.
 *
 * Why: the script's fixed cost per call (its arguments made Lua strings, a `redis.call` per
 * partition check and per XADD, their replies made Lua tables, Lua's garbage) was about 150
 * thousand Redis instructions, most of a single POST's append (docs/BENCHMARKS.md, "An append
 * without the script").
 *
 * What the script guaranteed, kept: nothing is appended while a partition count change runs
 * or after the count changed. The script checks each partition's meta hash; the worker writes
 * there on every apply, so a WATCH on it would fail all the time. This watches the two global
 * keys `nodeagg partitions set` writes instead, which change only when a change starts and
 * ends: the change marker is set before any partition is paused and deleted after every one
 * is resumed, and the recorded count is written while the marker is there. So a group this
 * lets through, the script would have let through too.
 *
 * One round trip per group: the WATCH and the read of those keys for the next group go in
 * the same pipeline as this group's transaction, and hold on the connection until its EXEC.
 * EXEC does nothing if either key changed since; the group then goes again with what the
 * trailing read saw. A reconnected connection holds no WATCH: `generation` tells, and the
 * keys are watched again before any EXEC.
 */
import type { ChainableCommander } from 'ioredis';
import { classifyRedisError, NotSentError } from './redis-errors';
import { ENTRY_FIELD, GROUP_FIELD } from './entry-codec';
import type { ReplicaWait } from './sample-append';
import type { TransactionConnection, TransactionConnections } from './transaction-connections';

/** What the global keys say about appending with the routed partition count. */
export type AppendGuard = { kind: 'open' } | { kind: 'paused' } | { kind: 'recount'; partitions: number };

export type TransactionAppendResult =
  { kind: 'appended'; ids: string[]; replicated: boolean } | Extract<AppendGuard, { kind: 'paused' | 'recount' }>;

/** One partition's entry: its stream and every request's lines there, joined. */
export interface StreamEntry {
  stream: string;
  lines: string;
}

/** The global keys the guard watches (keys.ts, globalKeys). */
export interface GuardKeys {
  partitionCount: string;
  partitionChange: string;
}

/** EXECs in a row that found the guard's keys changed before the append gives up (a change keeps them moving only briefly). */
const MAX_ATTEMPTS = 5;

type Reply = [Error | null, unknown];

/** The guard from `MGET <recorded count> <change marker>`. */
export function guardOf(recorded: string | null, change: string | null, routed: number): AppendGuard {
  if (change !== null) return { kind: 'paused' };
  if (recorded !== null && recorded !== String(routed)) return { kind: 'recount', partitions: Number(recorded) };
  return { kind: 'open' };
}

export class TransactionAppend {
  private connection: TransactionConnection | undefined;
  /** The guard read under the connection's WATCH, on the connection's `generation` then. */
  private watched: { generation: number; guard: AppendGuard } | undefined;
  /** One append at a time: a WATCH belongs to the whole connection. */
  private tail: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly connections: TransactionConnections,
    private readonly keys: GuardKeys,
    /** The partition count requests were routed with (STREAM_PARTITIONS). */
    private readonly routed: number,
    private readonly replicaWait?: ReplicaWait,
  ) {}

  /** Appends each entry to its stream, all or none; `groupId` goes beside the lines. */
  append(groupId: string, entries: readonly StreamEntry[]): Promise<TransactionAppendResult> {
    const run = this.tail.then(() => this.appendNow(groupId, entries));
    this.tail = run.catch(() => undefined);
    return run;
  }

  private async appendNow(groupId: string, entries: readonly StreamEntry[]): Promise<TransactionAppendResult> {
    const connection = await this.takeConnection();
    try {
      for (let attempt = 1; ; attempt++) {
        const watched = this.watched?.generation === connection.generation ? this.watched : await this.watch(connection);
        if (watched.guard.kind !== 'open') {
          // Read again next time: the keys may change back, and nothing here would EXEC to see it.
          this.watched = undefined;
          await connection.redis.unwatch();
          return watched.guard;
        }
        const replies = await this.transaction(connection.redis, groupId, entries).exec();
        const result = this.read(connection, watched.generation, entries.length, (replies ?? []) as Reply[]);
        if (result !== 'changed') return result;
        if (attempt === MAX_ATTEMPTS) throw new Error(`the partition count keys changed under ${MAX_ATTEMPTS} appends in a row`);
      }
    } catch (error) {
      // A command that timed out or a closed connection: the next append takes a new one.
      if (classifyRedisError(error) === 'unavailable' || classifyRedisError(error) === 'not-redis') this.dropConnection();
      throw error;
    }
  }

  private async takeConnection(): Promise<TransactionConnection> {
    if (this.connection) return this.connection;
    try {
      this.connection = await this.connections.take();
    } catch (error) {
      // Nothing was sent: the group can be refused as not stored.
      throw new NotSentError(error);
    }
    return this.connection;
  }

  private dropConnection(): void {
    if (this.connection) this.connections.discard(this.connection);
    this.connection = undefined;
    this.watched = undefined;
  }

  /** WATCH and read the guard's keys (one round trip). */
  private async watch(connection: TransactionConnection): Promise<{ generation: number; guard: AppendGuard }> {
    const generation = connection.generation;
    const replies = ((await connection.redis
      .pipeline()
      .watch(this.keys.partitionCount, this.keys.partitionChange)
      .mget(this.keys.partitionCount, this.keys.partitionChange)
      .exec()) ?? []) as Reply[];
    for (const [error] of replies) if (error) throw error;
    const [recorded, change] = replies[1]![1] as (string | null)[];
    this.watched = { generation, guard: guardOf(recorded ?? null, change ?? null, this.routed) };
    return this.watched;
  }

  /** MULTI, an XADD per entry, EXEC [, WAIT], then WATCH and read the guard for the next group. */
  private transaction(redis: TransactionConnection['redis'], groupId: string, entries: readonly StreamEntry[]): ChainableCommander {
    const pipeline = redis.pipeline();
    // ioredis's types leave MULTI off a pipeline; it queues MULTI there and counts the transaction.
    (pipeline as ChainableCommander & { multi(): ChainableCommander }).multi();
    for (const { stream, lines } of entries) pipeline.xadd(stream, '*', ENTRY_FIELD, lines, GROUP_FIELD, groupId);
    // In a pipeline, exec() after multi() queues the EXEC; the pipeline's own exec() sends it all.
    pipeline.exec();
    const wait = this.replicaWait;
    if (wait && wait.replicas > 0) pipeline.wait(wait.replicas, wait.timeoutMs);
    pipeline.watch(this.keys.partitionCount, this.keys.partitionChange);
    pipeline.mget(this.keys.partitionCount, this.keys.partitionChange);
    return pipeline;
  }

  /**
   * The transaction's outcome from the pipeline's replies: MULTI, n times QUEUED, EXEC,
   * [WAIT,] WATCH, MGET. 'changed': EXEC ran nothing, the guard's keys changed.
   */
  private read(
    connection: TransactionConnection,
    generation: number,
    entries: number,
    replies: Reply[],
  ): TransactionAppendResult | 'changed' {
    const exec = replies[entries + 1];
    const waits = this.replicaWait !== undefined && this.replicaWait.replicas > 0;
    const [watchReply, mgetReply] = replies.slice(entries + (waits ? 3 : 2));
    if (watchReply && !watchReply[0] && mgetReply && !mgetReply[0] && connection.generation === generation) {
      const [recorded, change] = mgetReply[1] as (string | null)[];
      this.watched = { generation, guard: guardOf(recorded ?? null, change ?? null, this.routed) };
    } else {
      this.watched = undefined;
    }
    if (!exec) throw new Error('the append transaction returned no reply');
    if (exec[0]) {
      // EXECABORT: Redis refused a queued XADD (over maxmemory, say) and ran none; throw the refusal.
      const refusal = replies.slice(1, entries + 1).find(([error]) => error)?.[0];
      throw refusal ?? exec[0];
    }
    if (exec[1] === null) return 'changed';
    const results = exec[1] as unknown[];
    const failed = results.find((result): result is Error => result instanceof Error);
    if (failed) throw failed;
    let replicated = true;
    if (waits) {
      const [waitError, confirmations] = replies[entries + 2] ?? [new Error('no WAIT reply')];
      replicated = !waitError && Number(confirmations) >= this.replicaWait!.replicas;
    }
    return { kind: 'appended', ids: results.map(String), replicated };
  }
}

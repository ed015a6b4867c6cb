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
import type { Command } from 'ioredis';
import { sendBatch, type Settled } from './command-batch';
import { encodeCommand, EncodedCommand } from './encoded-command';
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
  /** The commands every group sends alike, encoded once. */
  private readonly encoded: { multi: Buffer; exec: Buffer; watch: Buffer; read: Buffer };

  constructor(
    private readonly connections: TransactionConnections,
    keys: GuardKeys,
    /** The partition count requests were routed with (STREAM_PARTITIONS). */
    private readonly routed: number,
    private readonly replicaWait?: ReplicaWait,
  ) {
    const guardKeys = [keys.partitionCount, keys.partitionChange];
    this.encoded = {
      multi: encodeCommand('multi', []),
      exec: encodeCommand('exec', []),
      watch: encodeCommand('watch', guardKeys),
      read: encodeCommand('mget', guardKeys),
    };
  }

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
          // The answer stands without it: a connection that cannot UNWATCH is replaced.
          await connection.redis.unwatch().catch(() => this.dropConnection());
          return watched.guard;
        }
        // A connection made since the WATCH holds none: watch again there.
        if (connection.generation !== watched.generation) {
          this.watched = undefined;
          continue;
        }
        const replies = await sendBatch(connection.redis, this.transaction(groupId, entries));
        const result = this.read(connection, watched.generation, entries.length, replies);
        if (result !== 'changed') return result;
        if (attempt === MAX_ATTEMPTS) throw new Error(`the partition count keys changed under ${MAX_ATTEMPTS} appends in a row`);
      }
    } catch (error) {
      // A command that timed out or a closed connection: the next append takes a new one.
      const kind = classifyRedisError(error);
      if (kind === 'unavailable' || kind === 'not-redis') this.dropConnection();
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
    const replies = await sendBatch(connection.redis, [this.watchCommand(), this.readCommand()]);
    for (const [error] of replies) if (error) throw error;
    this.watched = { generation, guard: this.guardOfReply(replies[1]![1]) };
    return this.watched;
  }

  /**
   * MULTI, an XADD per entry, EXEC [, WAIT], then WATCH and read the guard for the next group.
   * Encoded here into the Redis protocol (encoded-command.ts; the constant ones once) and sent
   * by sendBatch: through an ioredis pipeline a group of 24 single POSTs cost ingest 72 to 85 µs
   * of CPU against the script call's 44 to 47, this way 49 to 54 (docs/BENCHMARKS.md). Replies
   * come as Buffers.
   */
  private transaction(groupId: string, entries: readonly StreamEntry[]): Command[] {
    const commands: Command[] = [new EncodedCommand('multi', this.encoded.multi)];
    for (const { stream, lines } of entries) {
      commands.push(new EncodedCommand('xadd', [stream, '*', ENTRY_FIELD, lines, GROUP_FIELD, groupId]));
    }
    commands.push(new EncodedCommand('exec', this.encoded.exec));
    const wait = this.replicaWait;
    if (wait && wait.replicas > 0) commands.push(new EncodedCommand('wait', [wait.replicas, wait.timeoutMs]));
    commands.push(this.watchCommand(), this.readCommand());
    return commands;
  }

  private watchCommand(): EncodedCommand {
    return new EncodedCommand('watch', this.encoded.watch);
  }

  private readCommand(): EncodedCommand {
    return new EncodedCommand('mget', this.encoded.read);
  }

  /**
   * The transaction's outcome from the pipeline's replies: MULTI, n times QUEUED, EXEC,
   * [WAIT,] WATCH, MGET. 'changed': EXEC ran nothing, the guard's keys changed.
   */
  private read(
    connection: TransactionConnection,
    generation: number,
    entries: number,
    replies: Settled[],
  ): TransactionAppendResult | 'changed' {
    const exec = replies[entries + 1];
    const waits = this.replicaWait !== undefined && this.replicaWait.replicas > 0;
    const [watchReply, mgetReply] = replies.slice(entries + (waits ? 3 : 2));
    if (watchReply && !watchReply[0] && mgetReply && !mgetReply[0] && connection.generation === generation) {
      this.watched = { generation, guard: this.guardOfReply(mgetReply[1]) };
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

  /** The guard from the MGET's reply (Buffers or nulls). */
  private guardOfReply(reply: unknown): AppendGuard {
    const [recorded, change] = reply as (Buffer | null)[];
    return guardOf(recorded ? recorded.toString() : null, change ? change.toString() : null, this.routed);
  }
}

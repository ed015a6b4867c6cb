/**
 * Applies a plan with native commands instead of apply-batch.lua, on one Redis (not a
 * cluster), exactly once as the script does: the stored buckets and summaries are read
 * under WATCH, merged here with the codecs' merges, and written back together with XACK in
 * one MULTI/EXEC. EXEC does nothing if the watched key changed since the WATCH; the apply
 * then reads again.
 *
 * Why: in the script, Lua's own machinery (arguments made Lua strings, every redis.call's
 * conversions, tables, garbage) cost Redis about two thirds of an apply; the same writes as
 * native commands take 0.4 of the script's instructions per node sample
 * (docs/BENCHMARKS.md, "An apply without the script").
 *
 * What is watched: the partition's meta hash alone. Every atomic step that writes the
 * partition's aggregates writes it too (every apply, by this transaction or by the script,
 * sets its last applied time; a dead letter's acknowledgement marks it), so any of them
 * between this WATCH and EXEC makes EXEC do nothing: another delivery of the same entries
 * (the pending check cannot go stale unnoticed), and any apply whose writes ours would
 * overwrite with merges of older reads. Not every key read: Redis (7.0 and 7.2 at least)
 * checks each key a WATCH names against every key the connection already watches, n²/2
 * comparisons, and an apply of process samples reads two hashes per process: at 400
 * processes a POST, WATCH was three quarters of the apply's Redis instructions
 * (docs/BENCHMARKS.md, "One key watched"). What a WATCH of a key also caught, its expiry
 * or the maintenance job's unlink between the read and EXEC, is made harmless instead:
 * every bucket hash written gets its chunk's expiry again (EXPIREAT, the same time every
 * apply), so a hash written back after it went ends as it would have.
 *
 * What the script guaranteed, kept:
 * - nothing is written when a key holds another type: the reads (HMGET, TYPE) fail or
 *   tell before MULTI (a key turned into another type between the read and EXEC, which only
 *   a foreign write could do, fails its own writes while the rest applies);
 * - nothing is written over maxmemory: Redis refuses the whole transaction (EXECABORT,
 *   whose cause, the OOM reply, is what this throws);
 * - the hint to read-after-write waiters follows the acknowledgement, in the transaction;
 *   a user without access to its channel (NOPERM discards the transaction) applies without
 *   it from then on.
 */
import type { ChainableCommander, Command, Redis } from 'ioredis';
import type { ApplyPlan } from './apply-plan';
import type { ApplyReply } from './batch-apply';
import { encodeBucket, EXPIRY_FIELD, mergeStoredBucket } from './bucket-codec';
import { EncodedCommand } from './encoded-command';
import type { EncodedArg } from './encoded-script';
import type { PartitionKeys } from './keys';
import { nodeTimeMoves } from './node-times';
import type { PlanRecords } from './plan-records';
import { encodeNodeSummary, mergeStoredNodeSummary, storedLastAt, SUMMARY_HASH_MARKER } from './summary-codec';
import type { TransactionConnections } from './transaction-connections';
import { WrongKeyTypeError } from './wrong-key-type';

/** Entries of the pending list read per XPENDING page. */
const PENDING_PAGE = 1000;
/** Members a node prune removes per apply (as the script). */
const NODE_PRUNE_LIMIT = 500;

type Reply = [Error | null, unknown];

/** ioredis types pipeline() and multi() as ChainableCommander; each is a Pipeline, whose sendCommand queues a prepared command. */
function queue(transaction: ChainableCommander, command: Command): void {
  (transaction as ChainableCommander & { sendCommand(command: Command): unknown }).sendCommand(command);
}

/** Members of the latest-time set `key` that this apply gives a time above `maxScore`. */
function renewedMembers(sections: PlanRecords, key: string, maxScore: number): Set<string> {
  const renewed = new Set<string>();
  const scores = sections.latest.get(key)?.scores;
  if (scores) for (const [member, score] of scores) if (score > maxScore) renewed.add(member);
  return renewed;
}

type Outcome = Extract<ApplyReply, { kind: 'applied' | 'none-pending' | 'some-pending' }>;

/** What the reads before MULTI found. */
interface Reads {
  pendingFound: Set<string>;
  /** The last id of a full first page: more of the range to read. */
  pendingPageEnd: string | undefined;
  missing: Set<string>;
  storedBuckets: (Buffer | null)[][];
  storedSummaries: (Buffer | null)[][];
  prunedNodes: string[][];
}

export class TransactionApply {
  /** EXECs that did nothing because another apply changed a watched key first. */
  retries = 0;
  /** Redis refused the hint's channel to this user (NOPERM): applies go on without it. */
  private hintRefused = false;

  constructor(
    private readonly connections: TransactionConnections,
    private readonly group: string,
  ) {}

  /** `ids` in stream order. */
  async apply(keys: PartitionKeys, ids: readonly string[], plan: ApplyPlan): Promise<Outcome> {
    const sections = plan.records;
    const connection = await this.connections.take();
    let clean = false;
    try {
      for (;;) {
        const generation = connection.generation;
        const reads = await this.watchAndRead(connection.redis, keys, ids, sections);
        const pending = await this.pendingOf(connection.redis, keys, ids, reads);
        if (pending.length < ids.length) {
          await connection.redis.unwatch();
          clean = true;
          return pending.length === 0 ? { kind: 'none-pending' } : { kind: 'some-pending', ids: pending };
        }
        const transaction = this.writes(connection.redis, keys, ids, sections, reads);
        // A connection made since the WATCH holds none: watch again there.
        if (connection.generation !== generation) continue;
        const results = await transaction.exec().catch((error: Error & { previousErrors?: Error[] }) => {
          // EXECABORT: Redis refused a queued command and ran none; throw the refusal.
          const refusals = error.previousErrors ?? [];
          if (!this.hintRefused && refusals.length > 0 && refusals.every((e) => /^NOPERM\b.*channel/i.test(e.message))) {
            this.hintRefused = true;
            return 'hint refused' as const;
          }
          throw refusals[0] ?? error;
        });
        if (results === 'hint refused') continue;
        if (results === null) {
          this.retries++;
          continue;
        }
        for (const [error] of results) if (error) throw error;
        clean = true;
        return { kind: 'applied' };
      }
    } finally {
      // After a failure the connection may hold watches, or be half-open (a command timed
      // out): a new one serves the next apply.
      if (clean) this.connections.give(connection);
      else this.connections.discard(connection);
    }
  }

  /**
   * One round trip: WATCH, then the first page of the pending range, the type checks and the
   * stored values (Redis runs a pipeline's commands in order, so the reads come after the WATCH).
   */
  private async watchAndRead(redis: Redis, keys: PartitionKeys, ids: readonly string[], sections: PlanRecords): Promise<Reads> {
    const pipeline = redis.pipeline();
    pipeline.watch(keys.meta);
    pipeline.xpending(keys.stream, this.group, ids[0]!, ids[ids.length - 1]!, PENDING_PAGE);
    for (const [key] of sections.checks) pipeline.type(key);
    // Encoded here (thousands of fields); no reply encoding: the values come as Buffers.
    for (const [key, { buckets }] of sections.bucketHashes) {
      queue(pipeline, new EncodedCommand('hmget', [key, EXPIRY_FIELD, ...buckets.keys()]));
    }
    for (const [key, nodes] of sections.summaries) queue(pipeline, new EncodedCommand('hmget', [key, ...nodes.keys()]));
    for (const [key, { maxScore }] of sections.nodePrunes) pipeline.zrangebyscore(key, '-inf', maxScore, 'LIMIT', 0, NODE_PRUNE_LIMIT);
    const replies = ((await pipeline.exec()) ?? []) as Reply[];
    let at = 1;
    if (replies[0]?.[0]) throw replies[0][0];
    const next = (): unknown => {
      const [error, value] = replies[at++] ?? [new Error('a read of the apply had no reply'), null];
      if (error) throw error;
      return value;
    };
    const page = next() as [string, ...unknown[]][];
    const missing = new Set<string>();
    for (const [key, expected] of sections.checks) {
      const actual = next() as string;
      if (actual === 'none') missing.add(key);
      else if (actual !== expected) throw new WrongKeyTypeError(key, actual, expected);
    }
    const replyPer = <T>(records: ReadonlyMap<string, unknown>) => Array.from({ length: records.size }, () => next() as T);
    const storedBuckets = replyPer<(Buffer | null)[]>(sections.bucketHashes);
    const storedSummaries = replyPer<(Buffer | null)[]>(sections.summaries);
    const prunedNodes = replyPer<string[]>(sections.nodePrunes);
    return {
      pendingFound: new Set(page.map(([id]) => id)),
      pendingPageEnd: page.length === PENDING_PAGE ? page[page.length - 1]![0] : undefined,
      missing,
      storedBuckets,
      storedSummaries,
      prunedNodes,
    };
  }

  /** The ids still pending (on any consumer), reading further pages of the range if the first was full. */
  private async pendingOf(redis: Redis, keys: PartitionKeys, ids: readonly string[], reads: Reads): Promise<string[]> {
    const found = reads.pendingFound;
    let end = reads.pendingPageEnd;
    const last = ids[ids.length - 1]!;
    while (end !== undefined && ids.some((id) => !found.has(id))) {
      const page = (await redis.xpending(keys.stream, this.group, `(${end}`, last, PENDING_PAGE)) as [string, ...unknown[]][];
      for (const [id] of page) found.add(id);
      end = page.length === PENDING_PAGE ? page[page.length - 1]![0] : undefined;
    }
    return ids.filter((id) => found.has(id));
  }

  /** The transaction: merged buckets and summaries, the sets, expiries, prunes, bookkeeping, XACK. */
  private writes(redis: Redis, keys: PartitionKeys, ids: readonly string[], sections: PlanRecords, reads: Reads) {
    const transaction = redis.multi();
    let hashIndex = 0;
    for (const [key, { expireAt, buckets }] of sections.bucketHashes) {
      const stored = reads.storedBuckets[hashIndex++]!;
      // A hash's expiry is fixed by its chunk; its field marks a hash this apply creates.
      const created = stored[0] === null;
      const args: EncodedArg[] = created ? [key, EXPIRY_FIELD, expireAt] : [key];
      let storedIndex = 1; // after the expiry field
      for (const [field, delta] of buckets) {
        const current = stored[storedIndex++];
        // As the script's bucketSizeOk: a stored bucket of another form is never merged (it throws).
        args.push(field, current ? mergeStoredBucket(current, encodeBucket(delta)) : encodeBucket(delta));
      }
      queue(transaction, new EncodedCommand('hset', args));
      // Every time, not only when created: the hash may have gone since it was read (see above).
      transaction.expireat(key, expireAt);
    }
    // summary hash -> node -> its stored summary, as the reads found them (the node times need them).
    const storedSummaries = new Map<string, Map<string, Buffer>>();
    let summaryIndex = 0;
    for (const [key, nodes] of sections.summaries) {
      const stored = reads.storedSummaries[summaryIndex++]!;
      const byNode = new Map<string, Buffer>();
      storedSummaries.set(key, byNode);
      const args: (string | Buffer)[] = [key, '', SUMMARY_HASH_MARKER];
      let nodeIndex = 0;
      for (const [node, summary] of nodes) {
        const current = stored[nodeIndex++];
        if (current) byNode.set(node, current);
        args.push(node, current ? mergeStoredNodeSummary(current, encodeNodeSummary(summary)) : encodeNodeSummary(summary));
      }
      queue(transaction, new EncodedCommand('hset', args));
    }
    for (const [key, { names, summaries, scores }] of sections.latest) {
      if (summaries === undefined) {
        const pairs: (string | number)[] = [key, 'GT'];
        for (const [member, score] of scores) pairs.push(score, member);
        queue(transaction, new EncodedCommand('zadd', pairs));
        continue;
      }
      // A node joins the name index when it joins the node set. Its summary is written with
      // both and leaves with both (the node prunes), so a node without a stored summary is
      // the one new to them: only those are named (the script asked ZADD's count instead).
      const stored = storedSummaries.get(summaries) ?? new Map<string, Buffer>();
      const moved: (string | number)[] = [];
      const named: (string | number)[] = [];
      for (const [node, score] of scores) {
        const summary = stored.get(node);
        if (nodeTimeMoves(summary && storedLastAt(summary), score)) moved.push(score, node);
        if (!summary) named.push(0, node);
      }
      if (moved.length > 0) queue(transaction, new EncodedCommand('zadd', [key, 'GT', ...moved]));
      if (named.length > 0 && names !== undefined) transaction.zadd(names, 'NX', ...named);
    }
    for (const [key, { at, always }] of sections.expiries) if (always || reads.missing.has(key)) transaction.expireat(key, at);
    for (const [key, maxScore] of sections.prunes) transaction.zremrangebyscore(key, '-inf', maxScore);
    let pruneIndex = 0;
    for (const [key, { names, summaries, maxScore }] of sections.nodePrunes) {
      // A node forgotten by the latest-time set leaves the name index and the summaries with it.
      // The list was read before this apply's times: a node that posts again stays.
      const found = reads.prunedNodes[pruneIndex++]!;
      if (found.length === 0) continue;
      const renewed = renewedMembers(sections, key, maxScore);
      const old = found.filter((node) => !renewed.has(node));
      if (old.length === 0) continue;
      transaction.zrem(key, ...old);
      transaction.zrem(names, ...old);
      transaction.hdel(summaries, ...old);
    }
    for (const [key, field, value] of sections.fields) transaction.hset(key, field, value);
    queue(transaction, new EncodedCommand('xack', [keys.stream, this.group, ...ids]));
    if (!this.hintRefused) transaction.spublish(keys.appliedChannel, '');
    return transaction;
  }
}

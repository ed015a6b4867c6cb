/**
 * Moving the data to another partition count (the command line's `nodeagg partitions set`
 * runs the procedure). A partition's hash tag depends on the count (partition-tag.ts), so
 * every key of every old partition moves to a key under a new tag: what each key of an old
 * partition is, and the moves that put it where the new routing expects it. Every command
 * touches one key or one partition's keys, so it works on any Redis Cluster slot layout;
 * each step is idempotent.
 */
import { partitionOf } from '../partition';
import type { RedisClient } from '../redis';
import { EXPIRY_FIELD } from './bucket-codec';
import { nodeOfSecondField, type PartitionKeys } from './keys';
import { registerScripts } from './scripts';
import { scanKeys } from './server-nodes';
import { execPerSlotOrThrow, type KeyedCommand } from './slot-pipelines';

/** Fleet and process buckets: sums over a partition's nodes. */
const BUCKET_PREFIXES = ['fleet:s:', 'fleet:m:', 'procs:s:', 'procs:m:', 'proc:s:', 'proc:m:'];
/** Keys that name entries of the drained stream or sources of an earlier change: of no use under new tags. */
const OBSOLETE_PREFIXES = ['replayed:', 'dead-lettered:', 'merged:', 'parts:'];
const HEARTBEAT_PREFIX = 'alive:';
const IDEMPOTENCY_PREFIX = 'idem:';

/** What a key of an old partition holds, as the change procedure treats it. */
export type PartitionKeyKind =
  /** The stream (dropped once drained), the meta hash (kept as a tombstone), heartbeats (they expire). */
  | { kind: 'own' }
  /** Replay and dead-letter markers, merge markers of an earlier change, parts of applied entries: deleted. */
  | { kind: 'obsolete' }
  /** One node's key (its processes): moves to the node's new partition. */
  | { kind: 'node'; node: string }
  /**
   * A hash with fields of many nodes (the summaries, a minute's seconds): each field moves to
   * the hash of the same name in its node's new partition; a field of no node only goes.
   */
  | { kind: 'node-fields'; nodeOf: (field: string) => string | undefined }
  /** A sorted set with one member per node (the node list and its name index, each process's nodes). */
  | { kind: 'node-members' }
  /** The partition's sorted set of latest process times. */
  | { kind: 'processes' }
  /** The partition's latest node sample time (one member): the later one wins. */
  | { kind: 'fleet-latest' }
  /** A fleet or process bucket hash. */
  | { kind: 'buckets' }
  /** An Idempotency-Key record of a request stored before the change. */
  | { kind: 'idempotency-record' }
  | { kind: 'unknown' };

export interface PartitionKey {
  key: string;
  /** The key without its partition's `prefix:{tag}:`, the same in every partition. */
  name: string;
  what: PartitionKeyKind;
}

const NODE_PROCESSES_PREFIX = 'node:procs:';
const NODE_SECONDS_PREFIX = 'nodes:s:';

/** The summary hash's fields are node names; its marker field '' is none. */
const nodeOfSummaryField = (field: string): string | undefined => (field === '' ? undefined : field);

function kindOf(key: string, name: string, source: PartitionKeys): PartitionKeyKind {
  if (key === source.stream || key === source.meta || name.startsWith(HEARTBEAT_PREFIX)) return { kind: 'own' };
  if (OBSOLETE_PREFIXES.some((p) => name.startsWith(p))) return { kind: 'obsolete' };
  // Node names may contain ':': the name is the rest of the key.
  if (name.startsWith(NODE_PROCESSES_PREFIX)) return { kind: 'node', node: name.slice(NODE_PROCESSES_PREFIX.length) };
  if (key === source.nodes || key === source.nodeNames || name.startsWith('proc:nodes:')) return { kind: 'node-members' };
  if (key === source.nodeSummaries) return { kind: 'node-fields', nodeOf: nodeOfSummaryField };
  if (name.startsWith(NODE_SECONDS_PREFIX)) return { kind: 'node-fields', nodeOf: nodeOfSecondField };
  if (key === source.processes) return { kind: 'processes' };
  if (key === source.fleetLatest) return { kind: 'fleet-latest' };
  if (BUCKET_PREFIXES.some((p) => name.startsWith(p))) return { kind: 'buckets' };
  if (name.startsWith(IDEMPOTENCY_PREFIX)) return { kind: 'idempotency-record' };
  return { kind: 'unknown' };
}

/** A glob matching exactly the keys of one partition (SCAN MATCH: braces and brackets escaped). */
function patternOf(source: PartitionKeys): string {
  return source.named('').replace(/[\\*?[\]{}]/g, (c) => `\\${c}`) + '*';
}

/**
 * Every key of a partition, a SCAN page at a time: the one place the change procedure scans,
 * so a scan over every master in cluster mode applies here too.
 */
export async function* scanPartitionKeys(redis: RedisClient, source: PartitionKeys): AsyncGenerator<PartitionKey[]> {
  const base = source.named('');
  for await (const keys of scanKeys(redis, patternOf(source))) {
    yield keys.map((key) => {
      const name = key.slice(base.length);
      return { key, name, what: kindOf(key, name, source) };
    });
  }
}

/**
 * Copies keys with their time to live, then deletes the sources: single-key commands (so
 * any Redis Cluster slot), pipelined per scan batch (per slot on a cluster), idempotent
 * (RESTORE ... REPLACE).
 * Answers how many moved (a key that expired meanwhile is skipped).
 */
export async function moveKeys(redis: RedisClient, moves: readonly [from: string, to: string][]): Promise<number> {
  if (moves.length === 0) return 0;
  const replies = await execPerSlotOrThrow(
    redis,
    moves.flatMap(([from]): KeyedCommand[] => [
      { key: from, add: (p) => p.dumpBuffer(from) },
      { key: from, add: (p) => p.pttl(from) },
    ]),
  );
  const restores: KeyedCommand[] = [];
  const deletes: KeyedCommand[] = [];
  moves.forEach(([from, to], i) => {
    const dump = replies[2 * i] as Buffer | null;
    const ttl = Number(replies[2 * i + 1]);
    if (dump === null || ttl === -2) return; // expired meanwhile
    restores.push({ key: to, add: (p) => p.restore(to, ttl > 0 ? ttl : 0, dump, 'REPLACE') });
    deletes.push({ key: from, add: (p) => p.del(from) });
  });
  // Every copy stands before any source goes: a cluster runs each slot's pipeline on its own.
  await execPerSlotOrThrow(redis, restores);
  await execPerSlotOrThrow(redis, deletes);
  return restores.length;
}

/** Deletes keys (one command per key: any Redis Cluster slot). Answers how many were there. */
export async function deleteKeys(redis: RedisClient, keys: readonly string[]): Promise<number> {
  if (keys.length === 0) return 0;
  const deleted = await execPerSlotOrThrow(
    redis,
    keys.map((key) => ({ key, add: (p) => p.del(key) })),
  );
  return deleted.reduce<number>((sum, count) => sum + Number(count), 0);
}

/** One entry of a per-node collection: its node (undefined: it only goes), and how to copy it into a target key and drop it from the source. */
interface PerNodeEntry {
  node: string | undefined;
  copy: (target: string) => KeyedCommand;
  drop: KeyedCommand;
}

/**
 * Moves every entry of a per-node collection, a scanned page at a time, to the collection of
 * the same name in its node's new partition (`targetOf` names it), which gets the source's
 * expiry. Answers how many entries moved; the emptied source is gone (Redis drops it).
 */
async function moveByNode(
  redis: RedisClient,
  source: PartitionKey,
  targetOf: (node: string) => PartitionKeys,
  scanPage: (cursor: string) => Promise<[next: string, entries: PerNodeEntry[]]>,
): Promise<number> {
  // Read before the source empties (an emptied key is gone, and its expiry with it).
  const ttl = await redis.pttl(source.key);
  let moved = 0;
  let cursor = '0';
  do {
    const [next, entries] = await scanPage(cursor);
    cursor = next;
    const copies: KeyedCommand[] = [];
    const targets = new Set<string>();
    for (const { node, copy } of entries) {
      if (node === undefined) continue;
      const targetKey = targetOf(node).named(source.name);
      copies.push(copy(targetKey));
      targets.add(targetKey);
      moved += 1;
    }
    // Each target gets the source's expiry with its copies, before the source loses them: a
    // change killed after this page has no target left without one.
    if (ttl > 0) for (const targetKey of targets) copies.push(...expiryCommands(targetKey, ttl));
    // Copy first, then drop: a crash in between leaves an entry in both, which a re-run copies again.
    await execPerSlotOrThrow(redis, copies);
    await execPerSlotOrThrow(
      redis,
      entries.map((entry) => entry.drop),
    );
  } while (cursor !== '0');
  return moved;
}

/** The members of a per-node sorted set (the node list, its name index, a process's nodes): a re-run's copy keeps the latest time. */
export function moveMembers(redis: RedisClient, source: PartitionKey, targetOf: (member: string) => PartitionKeys): Promise<number> {
  return moveByNode(redis, source, targetOf, async (cursor) => {
    const [next, flat] = await redis.zscan(source.key, cursor, 'COUNT', 1000);
    const entries: PerNodeEntry[] = [];
    for (let i = 0; i + 1 < flat.length; i += 2) {
      const [member, score] = [flat[i]!, flat[i + 1]!];
      entries.push({
        node: member,
        copy: (target) => ({ key: target, add: (p) => p.zadd(target, 'GT', score, member) }),
        drop: { key: source.key, add: (p) => p.zrem(source.key, member) },
      });
    }
    return [next, entries];
  });
}

/**
 * The fields of a hash of many nodes (binary values), each to its node's new partition. A
 * field of no node (the summaries' marker, a bucket hash's expiry record) only goes: the
 * apply writes its own into each target.
 */
export function moveFields(
  redis: RedisClient,
  source: PartitionKey,
  nodeOf: (field: string) => string | undefined,
  targetOf: (node: string) => PartitionKeys,
): Promise<number> {
  return moveByNode(redis, source, targetOf, async (cursor) => {
    const [next, flat] = await redis.hscanBuffer(source.key, cursor, 'COUNT', 1000);
    const entries: PerNodeEntry[] = [];
    for (let i = 0; i + 1 < flat.length; i += 2) {
      const [field, value] = [flat[i]!.toString(), flat[i + 1]!];
      entries.push({
        node: nodeOf(field),
        copy: (target) => ({ key: target, add: (p) => p.hset(target, field, value) }),
        drop: { key: source.key, add: (p) => p.hdel(source.key, field) },
      });
    }
    return [next.toString(), entries];
  });
}

/** An old partition's sorted set of latest times into a new partition's (latest wins), then deleted. */
export async function mergeSortedSet(redis: RedisClient, from: string, to: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, flat] = await redis.zscan(from, cursor, 'COUNT', 1000);
    cursor = next;
    const adds: KeyedCommand[] = [];
    for (let i = 0; i + 1 < flat.length; i += 2) {
      const [member, score] = [flat[i]!, flat[i + 1]!];
      adds.push({ key: to, add: (p) => p.zadd(to, 'GT', score, member) });
    }
    await execPerSlotOrThrow(redis, adds);
  } while (cursor !== '0');
  await copyExpiry(redis, from, to);
  await redis.del(from);
}

/**
 * An old partition's fleet or process bucket hash merged into the hash of the same name in
 * the new partition `target` (merge-buckets.lua: exactly once, by a marker in the target's
 * slot, so a re-run after a crash before the delete adds nothing), with the later expiry,
 * then deleted.
 */
export async function mergeBucketHash(redis: RedisClient, source: PartitionKey, target: PartitionKeys): Promise<void> {
  registerScripts(redis);
  // Stored buckets are binary (bucket codec): read and pass them as buffers.
  const [fields, ttl] = await Promise.all([redis.hgetallBuffer(source.key), redis.pttl(source.key)]);
  const pairs = Object.entries(fields)
    .filter(([field]) => field !== EXPIRY_FIELD)
    .flat();
  if (pairs.length > 0) {
    const expireAt = ttl > 0 ? Math.ceil((Date.now() + ttl) / 1000) : 0;
    await redis.mergeBuckets(target.named(source.name), target.mergeMarker(source.key), expireAt, ...pairs);
  }
  await redis.del(source.key);
}

async function copyExpiry(redis: RedisClient, from: string, to: string): Promise<void> {
  const ttl = await redis.pttl(from);
  if (ttl > 0) await execPerSlotOrThrow(redis, expiryCommands(to, ttl));
}

/** Gives `key` at least `ttl` ms to live: set where it has no expiry (GT alone counts that as infinite), moved later where shorter. */
function expiryCommands(key: string, ttl: number): KeyedCommand[] {
  return [
    { key, add: (p) => p.pexpire(key, ttl, 'NX') },
    { key, add: (p) => p.pexpire(key, ttl, 'GT') },
  ];
}

/**
 * Copies an old partition's Idempotency-Key record to every new partition that has none
 * (SET NX, same expiry), then deletes it. The request was stored whole before the change
 * (the streams drained), so each copy says "stored" to a retry routed anew.
 */
export async function spreadIdempotencyRecord(redis: RedisClient, source: PartitionKey, targets: readonly PartitionKeys[]): Promise<void> {
  const [record, ttl] = await Promise.all([redis.get(source.key), redis.pttl(source.key)]);
  if (record !== null && ttl > 0) {
    await execPerSlotOrThrow(
      redis,
      targets.map((target) => {
        const copy = target.named(source.name);
        return { key: copy, add: (p) => p.set(copy, record, 'PX', ttl, 'NX') };
      }),
    );
  }
  await redis.del(source.key);
}

/** An old partition's stream, drained (its consumers' heartbeat keys expire by themselves). */
export async function dropPartitionStream(redis: RedisClient, keys: PartitionKeys): Promise<void> {
  await redis.del(keys.stream);
}

/** The new partition a node's keys and members move to. */
export function newPartitionOf(node: string, targets: readonly PartitionKeys[]): PartitionKeys {
  return targets[partitionOf(node, targets.length)]!;
}

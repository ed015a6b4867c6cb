/**
 * Moving a partition's keys under another partition count (the command line's
 * `nodeagg partitions set` runs the procedure): what each key of a partition is, and the single-key moves that put
 * it where the new routing expects it. Every command touches one key or one partition's
 * keys, so it works on any Redis Cluster slot layout; each step is idempotent.
 */
import { partitionOf } from '../partition';
import type { RedisClient } from '../redis';
import { EXPIRY_FIELD } from './bucket-codec';
import { partitionKeys, type PartitionKeys } from './keys';
import { registerScripts } from './scripts';
import { scanKeys } from './server-nodes';
import { execPerSlotOrThrow, type KeyedCommand } from './slot-pipelines';

/** Fleet and process buckets: sums over a partition's nodes. */
const BUCKET_PREFIXES = ['fleet:s:', 'fleet:m:', 'procs:s:', 'procs:m:', 'proc:s:', 'proc:m:'];
/** Keys that belong to the partition itself, not to the data. */
const OWN_PREFIXES = ['alive:', 'replayed:', 'merged:'];
const IDEMPOTENCY_PREFIX = 'idem:';

/** What a key of a partition holds, as the change procedure treats it. */
export type PartitionKeyKind =
  /** The stream, the meta hash, heartbeats, replay and merge markers: never moved. */
  | { kind: 'own' }
  /** One node's key (summary, seconds, processes): moves to the node's partition. */
  | { kind: 'node'; node: string }
  /** A sorted set with one member per node (the node list, each process's nodes). */
  | { kind: 'node-members' }
  /** The partition's sorted set of latest process times. */
  | { kind: 'processes' }
  /** A fleet or process bucket hash. */
  | { kind: 'buckets' }
  /** An Idempotency-Key record of a request stored before the change. */
  | { kind: 'idempotency-record' }
  | { kind: 'unknown' };

export interface PartitionKey {
  key: string;
  /** The key without its partition's `prefix:{pN}:`, the same in every partition. */
  name: string;
  what: PartitionKeyKind;
}

function baseOf(prefix: string, partition: number): string {
  return `${prefix}:{p${partition}}:`;
}

/** The key of the same name in another partition. */
export function sameKeyIn(prefix: string, partition: number, name: string): string {
  return baseOf(prefix, partition) + name;
}

/** The node a per-node key belongs to (node names may contain ':'), or undefined. */
function nodeOfKey(name: string): string | undefined {
  if (name.startsWith('node:sum:')) return name.slice('node:sum:'.length);
  if (name.startsWith('node:procs:')) return name.slice('node:procs:'.length);
  const fine = /^node:s:\d+:(.+)$/.exec(name);
  return fine ? fine[1] : undefined;
}

function kindOf(key: string, name: string, source: PartitionKeys): PartitionKeyKind {
  if (key === source.stream || key === source.meta || OWN_PREFIXES.some((p) => name.startsWith(p))) return { kind: 'own' };
  const node = nodeOfKey(name);
  if (node !== undefined) return { kind: 'node', node };
  if (key === source.nodes || name.startsWith('proc:nodes:')) return { kind: 'node-members' };
  if (key === source.processes) return { kind: 'processes' };
  if (BUCKET_PREFIXES.some((p) => name.startsWith(p))) return { kind: 'buckets' };
  if (name.startsWith(IDEMPOTENCY_PREFIX)) return { kind: 'idempotency-record' };
  return { kind: 'unknown' };
}

/** Every key of a partition, a SCAN page at a time (on a cluster, every master's). */
export async function* scanPartitionKeys(redis: RedisClient, prefix: string, source: PartitionKeys): AsyncGenerator<PartitionKey[]> {
  const base = baseOf(prefix, source.partition);
  const pattern = `${prefix}:\\{p${source.partition}\\}:*`;
  for await (const keys of scanKeys(redis, pattern)) {
    yield keys.map((key) => {
      const name = key.slice(base.length);
      return { key, name, what: kindOf(key, name, source) };
    });
  }
}

/**
 * Copies keys with their time to live, then deletes the sources: single-key commands (so
 * any Redis Cluster slot), pipelined per scan batch, idempotent (RESTORE ... REPLACE).
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

/**
 * Moves the members of a per-node sorted set to the same set in each member's partition
 * under `to` partitions. Answers how many members moved.
 */
export async function moveMembers(
  redis: RedisClient,
  prefix: string,
  source: PartitionKey,
  partition: number,
  to: number,
): Promise<number> {
  const targets = new Set<string>();
  let moved = 0;
  let cursor = '0';
  do {
    const [next, flat] = await redis.zscan(source.key, cursor, 'COUNT', 1000);
    cursor = next;
    const adds: KeyedCommand[] = [];
    const removes: KeyedCommand[] = [];
    for (let i = 0; i + 1 < flat.length; i += 2) {
      const member = flat[i]!;
      const score = flat[i + 1]!;
      const target = partitionOf(member, to);
      if (target === partition) continue;
      const targetKey = sameKeyIn(prefix, target, source.name);
      adds.push({ key: targetKey, add: (p) => p.zadd(targetKey, 'GT', score, member) });
      removes.push({ key: source.key, add: (p) => p.zrem(source.key, member) });
      // A node's name index entry goes with it: apply-batch adds it only for a node new to the node set.
      if (source.key === partitionKeys(prefix, partition).nodes) {
        const targetNames = partitionKeys(prefix, target).nodeNames;
        const sourceNames = partitionKeys(prefix, partition).nodeNames;
        adds.push({ key: targetNames, add: (p) => p.zadd(targetNames, 0, member) });
        removes.push({ key: sourceNames, add: (p) => p.zrem(sourceNames, member) });
      }
      targets.add(targetKey);
      moved += 1;
    }
    // Add first, then remove: a crash in between leaves a member in both, which a re-run resolves.
    await execPerSlotOrThrow(redis, adds);
    await execPerSlotOrThrow(redis, removes);
  } while (cursor !== '0');
  for (const targetKey of targets) await copyExpiry(redis, source.key, targetKey);
  return moved;
}

/** A removed partition's sorted set of latest times into the survivor's (latest wins), then deleted. */
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
 * A removed partition's fleet or process bucket hash merged into the hash of the same name
 * in the survivor (merge-buckets.lua: exactly once, by a marker in the survivor's slot),
 * with the later expiry, then deleted.
 */
export async function mergeBucketHash(redis: RedisClient, prefix: string, source: PartitionKey, survivor: number): Promise<void> {
  registerScripts(redis);
  // Stored buckets are binary (bucket codec): read and pass them as buffers.
  const [fields, ttl] = await Promise.all([redis.hgetallBuffer(source.key), redis.pttl(source.key)]);
  const pairs = Object.entries(fields)
    .filter(([field]) => field !== EXPIRY_FIELD)
    .flat();
  if (pairs.length > 0) {
    const expireAt = ttl > 0 ? Math.ceil((Date.now() + ttl) / 1000) : 0;
    const survivorKeys = partitionKeys(prefix, survivor);
    await redis.mergeBuckets(sameKeyIn(prefix, survivor, source.name), survivorKeys.mergeMarker(source.key), expireAt, ...pairs);
  }
  await redis.del(source.key);
}

async function copyExpiry(redis: RedisClient, from: string, to: string): Promise<void> {
  const ttl = await redis.pttl(from);
  if (ttl > 0) await redis.pexpire(to, ttl, 'GT');
}

/**
 * Copies one partition's Idempotency-Key record to every partition of the new count that
 * has none (SET NX, same expiry), then drops it from a removed partition. The request was
 * stored whole before the change (the streams drained), so each copy says "stored".
 */
export async function spreadIdempotencyRecord(
  redis: RedisClient,
  prefix: string,
  source: PartitionKey,
  to: number,
  removed: boolean,
): Promise<void> {
  const [record, ttl] = await Promise.all([redis.get(source.key), redis.pttl(source.key)]);
  if (record === null || ttl <= 0) return; // expired meanwhile (records always have a TTL)
  const copies: KeyedCommand[] = [];
  for (let target = 0; target < to; target++) {
    const copy = sameKeyIn(prefix, target, source.name);
    copies.push({ key: copy, add: (p) => p.set(copy, record, 'PX', ttl, 'NX') });
  }
  await execPerSlotOrThrow(redis, copies);
  if (removed) await redis.del(source.key);
}

/** A removed partition's stream, drained (its consumers' heartbeat keys expire by themselves). */
export async function dropPartitionStream(redis: RedisClient, keys: PartitionKeys): Promise<void> {
  await redis.del(keys.stream);
}

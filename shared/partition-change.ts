/**
 * Changes the partition count of the data (`nodeagg partitions set N`): pauses ingest,
 * waits until every stream is drained, rewrites the per-partition state under the new
 * routing, records the new count and resumes. Each step is idempotent, so a run that was
 * interrupted is finished by running the command again. Every multi-key script stays in one
 * partition's hash tag; moves between partitions are single-key commands (Redis Cluster).
 *
 * Under the new routing:
 * - a node's keys (summary, seconds, processes) move to the node's new partition;
 * - per-node members of sorted sets (the node list, each process's nodes) move likewise;
 * - fleet and process buckets are sums over a partition's nodes, and queries add them up
 *   across partitions, so they stay where they are; when the count shrinks, those of a
 *   removed partition are merged into a remaining one (exactly once: merge-buckets.lua),
 *   and so are its sorted sets of latest times;
 * - an Idempotency-Key's records are copied to every partition of the new count (where
 *   absent, with their time to live), so a retry routed anew still finds its request stored.
 */
import { allPartitionKeys, globalKeys, partitionKeys, type PartitionKeys } from './store/keys';
import { registerScripts } from './store/scripts';
import { EXPIRY_FIELD } from './store/bucket-codec';
import { partitionOf } from './partition';
import { META_PARTITIONS_FIELD, META_PAUSED_FIELD, recordedPartitionCount, type PartitionChange } from './partition-count';
import type { RedisClient } from './redis';
import { replyToRecord } from './redis-replies';
import { ensureGroup } from './stream-groups';

export interface ChangeOptions {
  prefix: string;
  group: string;
  /** Longest wait for the streams to drain before giving up (ingest is resumed). */
  drainTimeoutMs: number;
  /** Progress lines for the operator. */
  log: (line: string) => void;
}

export interface ChangeReport {
  from: number;
  to: number;
  movedKeys: number;
  movedMembers: number;
  mergedHashes: number;
  /** Keys of a removed partition this procedure does not know (left in place, named here). */
  unknownKeys: string[];
}

export class PartitionChangeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PartitionChangeError';
  }
}

const BUCKET_PREFIXES = ['fleet:s:', 'fleet:m:', 'procs:s:', 'procs:m:', 'proc:s:', 'proc:m:'];
/** Keys that belong to the partition itself, not to the data. */
const OWN_PREFIXES = ['alive:', 'replayed:', 'merged:'];
const IDEMPOTENCY_PREFIX = 'idem:';

export async function changePartitionCount(redis: RedisClient, to: number, options: ChangeOptions): Promise<ChangeReport> {
  const { prefix, log } = options;
  const global = globalKeys(prefix);
  const recorded = await recordedPartitionCount(redis, prefix);
  const running = await redis.get(global.partitionChange);
  const change: PartitionChange = running
    ? (JSON.parse(running) as PartitionChange)
    : { from: recorded ?? 0, to, started_at: new Date().toISOString() };
  if (recorded === null) throw new PartitionChangeError('No partition count is recorded yet: start the services once, then change it.');
  if (running && change.to !== to) {
    throw new PartitionChangeError(
      `A change from ${change.from} to ${change.to} partitions is unfinished; run "nodeagg partitions set ${change.to}" first.`,
    );
  }
  const report: ChangeReport = { from: change.from, to, movedKeys: 0, movedMembers: 0, mergedHashes: 0, unknownKeys: [] };
  if (!running && recorded === to) {
    log(`The data already has ${to} partitions; nothing to do.`);
    return report;
  }
  const { from } = change;
  const all = allPartitionKeys(prefix, Math.max(from, to));

  log(running ? `Resuming the change from ${from} to ${to} partitions.` : `Pausing ingest to change from ${from} to ${to} partitions.`);
  await redis.set(global.partitionChange, JSON.stringify(change));
  // The append script refuses a paused partition atomically: nothing is appended from here on.
  for (const keys of all) await redis.hset(keys.meta, META_PAUSED_FIELD, '1');

  log('Waiting until every stream is drained (nothing pending or undelivered).');
  const drained = await waitForDrain(redis, allPartitionKeys(prefix, from), options.group, options.drainTimeoutMs);
  if (!drained.ok) {
    if (!running) await resume(redis, prefix, all);
    throw new PartitionChangeError(
      `The streams did not drain within ${options.drainTimeoutMs} ms (${drained.busy}); ingest resumed with ${from} partitions. Are the workers running?`,
    );
  }

  log('Rewriting the per-partition state under the new routing.');
  for (const keys of allPartitionKeys(prefix, from)) await rewritePartition(redis, keys, prefix, to, report);

  for (const keys of allPartitionKeys(prefix, to)) await ensureGroup(redis, keys.stream, options.group);
  // Removed partitions keep their meta hash as a tombstone with the new count, so an
  // instance still routing with the old count is refused there too.
  for (const keys of all) await redis.hset(keys.meta, META_PARTITIONS_FIELD, String(to));
  await redis.set(global.partitionCount, String(to));
  for (const keys of all.slice(to)) await dropPartitionStream(redis, keys);

  await resume(redis, prefix, all);
  log(
    `Done: ${to} partitions recorded, ingest resumed (moved ${report.movedKeys} node keys and ${report.movedMembers} members, merged ${report.mergedHashes} hashes). ` +
      `Restart every ingest and worker with STREAM_PARTITIONS=${to}; instances with ${from} answer 503 or refuse to start.`,
  );
  return report;
}

async function resume(redis: RedisClient, prefix: string, all: readonly PartitionKeys[]): Promise<void> {
  for (const keys of all) await redis.hdel(keys.meta, META_PAUSED_FIELD);
  await redis.del(globalKeys(prefix).partitionChange);
}

/** Every stream's group has been delivered the last entry and holds nothing pending. */
async function waitForDrain(
  redis: RedisClient,
  partitions: readonly PartitionKeys[],
  group: string,
  timeoutMs: number,
): Promise<{ ok: boolean; busy: string }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const busy: string[] = [];
    for (const keys of partitions) {
      if ((await redis.exists(keys.stream)) === 0) continue;
      const stream = replyToRecord((await redis.xinfo('STREAM', keys.stream)) as unknown[]);
      const info = ((await redis.xinfo('GROUPS', keys.stream)) as unknown[][]).map(replyToRecord).find((g) => g.name === group);
      const lastId = String(stream['last-generated-id']);
      const undelivered = Number(stream.length) > 0 && (!info || String(info['last-delivered-id']) !== lastId);
      const pending = info ? Number(info.pending) : 0;
      if (undelivered || pending > 0)
        busy.push(`partition ${keys.partition}: ${pending} pending${undelivered ? ', undelivered entries' : ''}`);
    }
    if (busy.length === 0) return { ok: true, busy: '' };
    if (Date.now() > deadline) return { ok: false, busy: busy.join('; ') };
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function* scanPartition(redis: RedisClient, prefix: string, partition: number): AsyncGenerator<string[]> {
  const pattern = `${prefix}:\\{p${partition}\\}:*`;
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) yield keys;
  } while (cursor !== '0');
}

async function rewritePartition(
  redis: RedisClient,
  source: PartitionKeys,
  prefix: string,
  to: number,
  report: ChangeReport,
): Promise<void> {
  const base = `${prefix}:{p${source.partition}}:`;
  const removed = source.partition >= to;
  const survivor = partitionKeys(prefix, source.partition % to);
  for await (const batch of scanPartition(redis, prefix, source.partition)) {
    const moves: [from: string, to: string][] = [];
    for (const key of batch) {
      const name = key.slice(base.length);
      if (key === source.stream || key === source.meta || OWN_PREFIXES.some((p) => name.startsWith(p))) continue;
      const node = nodeOfKey(name);
      if (node !== undefined) {
        const target = partitionOf(node, to);
        if (target !== source.partition) moves.push([key, `${prefix}:{p${target}}:${name}`]);
      } else if (key === source.nodes || name.startsWith('proc:nodes:')) {
        await moveMembers(redis, key, name, prefix, to, source.partition, report);
      } else if (name.startsWith(IDEMPOTENCY_PREFIX)) {
        await spreadIdempotencyRecord(redis, key, name, prefix, to, removed);
      } else if (!removed) {
        continue; // sums over this partition's nodes: they stay
      } else if (key === source.processes) {
        await mergeSortedSet(redis, key, survivor.processes, report);
      } else if (BUCKET_PREFIXES.some((p) => name.startsWith(p))) {
        await mergeBuckets(redis, key, `${prefix}:{p${survivor.partition}}:${name}`, survivor, report);
      } else {
        report.unknownKeys.push(key);
      }
    }
    await moveKeys(redis, moves, report);
  }
}

/**
 * Copies one partition's Idempotency-Key record to every partition of the new count that
 * has none (SET NX, same expiry), then drops it from a removed partition. The request was
 * stored whole before the change (the streams drained), so each copy says "stored".
 */
async function spreadIdempotencyRecord(
  redis: RedisClient,
  key: string,
  name: string,
  prefix: string,
  to: number,
  removed: boolean,
): Promise<void> {
  const [record, ttl] = await execAll(redis.pipeline().get(key).pttl(key));
  if (record === null || Number(ttl) <= 0) return; // expired meanwhile (records always have a TTL)
  const copies = redis.pipeline();
  for (let target = 0; target < to; target++) copies.set(`${prefix}:{p${target}}:${name}`, String(record), 'PX', Number(ttl), 'NX');
  if (removed) copies.del(key);
  await execAll(copies);
}

/** The node a per-node key belongs to (node names may contain ':'), or undefined. */
function nodeOfKey(name: string): string | undefined {
  if (name.startsWith('node:sum:')) return name.slice('node:sum:'.length);
  if (name.startsWith('node:procs:')) return name.slice('node:procs:'.length);
  const fine = /^node:s:\d+:(.+)$/.exec(name);
  return fine ? fine[1] : undefined;
}

/**
 * Copies keys with their time to live, then deletes the sources: single-key commands (so
 * any Redis Cluster slot), pipelined per scan batch, idempotent (RESTORE ... REPLACE).
 */
async function moveKeys(redis: RedisClient, moves: readonly [string, string][], report: ChangeReport): Promise<void> {
  if (moves.length === 0) return;
  const read = redis.pipeline();
  for (const [from] of moves) read.dumpBuffer(from).pttl(from);
  const replies = await execAll(read);
  const write = redis.pipeline();
  let moved = 0;
  moves.forEach(([from, to], i) => {
    const dump = replies[2 * i] as Buffer | null;
    const ttl = Number(replies[2 * i + 1]);
    if (dump === null || ttl === -2) return; // expired meanwhile
    write.restore(to, ttl > 0 ? ttl : 0, dump, 'REPLACE').del(from);
    moved += 1;
  });
  await execAll(write);
  report.movedKeys += moved;
}

/** Runs a pipeline; the first failed command fails it all (nothing is silently skipped). */
async function execAll(pipeline: ReturnType<RedisClient['pipeline']>): Promise<unknown[]> {
  const replies = (await pipeline.exec()) ?? [];
  const failed = replies.find(([error]) => error !== null)?.[0];
  if (failed) throw failed;
  return replies.map(([, value]) => value);
}

/** Moves the members of a per-node sorted set to the same set in each member's new partition. */
async function moveMembers(
  redis: RedisClient,
  key: string,
  name: string,
  prefix: string,
  to: number,
  partition: number,
  report: ChangeReport,
): Promise<void> {
  const targets = new Set<string>();
  let cursor = '0';
  do {
    const [next, flat] = await redis.zscan(key, cursor, 'COUNT', 1000);
    cursor = next;
    const page = redis.pipeline();
    for (let i = 0; i + 1 < flat.length; i += 2) {
      const member = flat[i]!;
      const target = partitionOf(member, to);
      if (target === partition) continue;
      const targetKey = `${prefix}:{p${target}}:${name}`;
      // Add first, then remove: a crash in between leaves a member in both, which a re-run resolves.
      page.zadd(targetKey, 'GT', flat[i + 1]!, member).zrem(key, member);
      // A node's name index entry goes with it: apply-batch adds it only for a node new to the node set.
      if (name === 'nodes')
        page.zadd(partitionKeys(prefix, target).nodeNames, 0, member).zrem(partitionKeys(prefix, partition).nodeNames, member);
      targets.add(targetKey);
      report.movedMembers += 1;
    }
    await execAll(page);
  } while (cursor !== '0');
  for (const targetKey of targets) await copyExpiry(redis, key, targetKey);
}

/** A removed partition's sorted set of latest times into the survivor's (latest wins). */
async function mergeSortedSet(redis: RedisClient, from: string, to: string, report: ChangeReport): Promise<void> {
  let cursor = '0';
  do {
    const [next, flat] = await redis.zscan(from, cursor, 'COUNT', 1000);
    cursor = next;
    const page = redis.pipeline();
    for (let i = 0; i + 1 < flat.length; i += 2) page.zadd(to, 'GT', flat[i + 1]!, flat[i]!);
    await execAll(page);
  } while (cursor !== '0');
  await copyExpiry(redis, from, to);
  await redis.del(from);
  report.mergedHashes += 1;
}

async function copyExpiry(redis: RedisClient, from: string, to: string): Promise<void> {
  const ttl = await redis.pttl(from);
  if (ttl > 0) await redis.pexpire(to, ttl, 'GT');
}

async function mergeBuckets(redis: RedisClient, from: string, to: string, survivor: PartitionKeys, report: ChangeReport): Promise<void> {
  registerScripts(redis);
  // Stored buckets are binary (bucket codec): read and pass them as buffers.
  const [fields, ttl] = await Promise.all([redis.hgetallBuffer(from), redis.pttl(from)]);
  const pairs = Object.entries(fields)
    .filter(([field]) => field !== EXPIRY_FIELD)
    .flat();
  if (pairs.length > 0) {
    const expireAt = ttl > 0 ? Math.ceil((Date.now() + ttl) / 1000) : 0;
    await redis.mergeBuckets(to, `${prefix(survivor)}merged:${from}`, expireAt, ...pairs);
  }
  await redis.del(from);
  report.mergedHashes += 1;
}

function prefix(keys: PartitionKeys): string {
  return keys.meta.slice(0, -'meta'.length);
}

/** A removed partition's stream, drained (its consumers' heartbeat keys expire by themselves). */
async function dropPartitionStream(redis: RedisClient, keys: PartitionKeys): Promise<void> {
  await redis.del(keys.stream);
}

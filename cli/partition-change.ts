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
import { allPartitionKeys, partitionKeys, type PartitionKeys } from '../shared/store/keys';
import { partitionOf } from '../shared/partition';
import type { RedisClient } from '../shared/redis';
import { groupInfo, streamInfo } from '../shared/store/group-info';
import {
  clearPartitionChange,
  pausePartition,
  readPartitionChange,
  recordCountOnPartition,
  recordedPartitionCount,
  recordPartitionChange,
  recordPartitionCount,
  resumePartition,
  type PartitionChange,
} from '../shared/store/partition-count';
import {
  dropPartitionStream,
  mergeBucketHash,
  mergeSortedSet,
  moveKeys,
  moveMembers,
  sameKeyIn,
  scanPartitionKeys,
  spreadIdempotencyRecord,
} from '../shared/store/partition-moves';
import { ensureGroup } from '../shared/store/stream-groups';

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

export async function changePartitionCount(redis: RedisClient, to: number, options: ChangeOptions): Promise<ChangeReport> {
  const { prefix, log } = options;
  const recorded = await recordedPartitionCount(redis, prefix);
  const running = await readPartitionChange(redis, prefix);
  const change: PartitionChange = running ?? { from: recorded ?? 0, to, started_at: new Date().toISOString() };
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
  await recordPartitionChange(redis, prefix, change);
  // The append script refuses a paused partition atomically: nothing is appended from here on.
  for (const keys of all) await pausePartition(redis, keys);

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
  for (const keys of all) await recordCountOnPartition(redis, keys, to);
  await recordPartitionCount(redis, prefix, to);
  for (const keys of all.slice(to)) await dropPartitionStream(redis, keys);

  await resume(redis, prefix, all);
  log(
    `Done: ${to} partitions recorded, ingest resumed (moved ${report.movedKeys} node keys and ${report.movedMembers} members, merged ${report.mergedHashes} hashes). ` +
      `Restart every ingest and worker with STREAM_PARTITIONS=${to}; instances with ${from} answer 503 or refuse to start.`,
  );
  return report;
}

async function resume(redis: RedisClient, prefix: string, all: readonly PartitionKeys[]): Promise<void> {
  for (const keys of all) await resumePartition(redis, keys);
  await clearPartitionChange(redis, prefix);
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
      const stream = await streamInfo(redis, keys);
      if (stream === null) continue;
      const info = await groupInfo(redis, keys, group);
      const undelivered = stream.length > 0 && info?.lastDeliveredId !== stream.lastGeneratedId;
      const pending = info?.pending ?? 0;
      if (undelivered || pending > 0)
        busy.push(`partition ${keys.partition}: ${pending} pending${undelivered ? ', undelivered entries' : ''}`);
    }
    if (busy.length === 0) return { ok: true, busy: '' };
    if (Date.now() > deadline) return { ok: false, busy: busy.join('; ') };
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function rewritePartition(
  redis: RedisClient,
  source: PartitionKeys,
  prefix: string,
  to: number,
  report: ChangeReport,
): Promise<void> {
  const removed = source.partition >= to;
  const survivor = partitionKeys(prefix, source.partition % to);
  for await (const batch of scanPartitionKeys(redis, prefix, source)) {
    const moves: [from: string, to: string][] = [];
    for (const entry of batch) {
      const { key, name, what } = entry;
      if (what.kind === 'own') continue;
      if (what.kind === 'node') {
        const target = partitionOf(what.node, to);
        if (target !== source.partition) moves.push([key, sameKeyIn(prefix, target, name)]);
      } else if (what.kind === 'node-members') {
        report.movedMembers += await moveMembers(redis, prefix, entry, source.partition, to);
      } else if (what.kind === 'idempotency-record') {
        await spreadIdempotencyRecord(redis, prefix, entry, to, removed);
      } else if (!removed) {
        continue; // sums over this partition's nodes: they stay
      } else if (what.kind === 'processes') {
        await mergeSortedSet(redis, key, survivor.processes);
        report.mergedHashes += 1;
      } else if (what.kind === 'buckets') {
        await mergeBucketHash(redis, prefix, entry, survivor.partition);
        report.mergedHashes += 1;
      } else {
        report.unknownKeys.push(key);
      }
    }
    report.movedKeys += await moveKeys(redis, moves);
  }
}

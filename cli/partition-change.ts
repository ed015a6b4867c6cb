/**
 * Changes the partition count of the data (`nodeagg partitions set M`): pauses ingest,
 * waits until every stream is drained, moves the per-partition state to the new partitions,
 * records the new count and resumes. Each step is idempotent, so a run that was interrupted
 * is finished by running the command again. Every multi-key script stays in one partition's
 * hash tag; moves between partitions are single-key commands (Redis Cluster).
 *
 * A partition's hash tag depends on the count (shared/store/partition-tag.ts), so the old
 * partitions (old tags) are all sources and the new partitions (new tags) destinations:
 * - a node's key of its processes moves to the node's new partition, and so do its fields
 *   of the hashes shared by nodes (the node summaries, each minute's seconds);
 * - per-node members of sorted sets (the node list and its name index, each process's
 *   nodes) move likewise;
 * - fleet and process buckets are sums over a partition's nodes, and queries add them up
 *   across partitions: old partition i's are merged into new partition i % M (exactly
 *   once: merge-buckets.lua), and so is its sorted set of latest process times;
 * - an Idempotency-Key's records are copied to every new partition (where absent, with
 *   their time to live), so a retry routed anew still finds its request stored;
 * - the new streams and their group are created; the old streams, drained, are dropped;
 *   the old meta hashes stay as tombstones holding the new count, so an instance still
 *   routing with the old count is refused there.
 */
import { allPartitionKeys, type PartitionKeys } from '../shared/store/keys';
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
  deleteKeys,
  dropPartitionStream,
  mergeBucketHash,
  mergeSortedSet,
  moveKeys,
  moveFields,
  moveMembers,
  newPartitionOf,
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
  /** Replay markers, merge markers and applied parts of the old partitions, deleted. */
  droppedKeys: number;
  /** Keys of an old partition this procedure does not know (left in place, named here). */
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
  const report: ChangeReport = { from: change.from, to, movedKeys: 0, movedMembers: 0, mergedHashes: 0, droppedKeys: 0, unknownKeys: [] };
  if (!running && recorded === to) {
    log(`The data already has ${to} partitions; nothing to do.`);
    return report;
  }
  const { from } = change;
  const olds = allPartitionKeys(prefix, from);
  const news = allPartitionKeys(prefix, to);
  const all = [...olds, ...news];

  log(running ? `Resuming the change from ${from} to ${to} partitions.` : `Pausing ingest to change from ${from} to ${to} partitions.`);
  await recordPartitionChange(redis, prefix, change);
  // The append script refuses a paused partition atomically: nothing is appended from here on.
  for (const keys of all) await pausePartition(redis, keys);

  log('Waiting until every stream is drained (nothing pending or undelivered).');
  const drained = await waitForDrain(redis, olds, options.group, options.drainTimeoutMs);
  if (!drained.ok) {
    if (!running) await resume(redis, prefix, all);
    throw new PartitionChangeError(
      `The streams did not drain within ${options.drainTimeoutMs} ms (${drained.busy}); ingest resumed with ${from} partitions. Are the workers running?`,
    );
  }

  log(`Moving the per-partition state to the ${to} new partitions.`);
  for (const source of olds) await moveOldPartition(redis, source, news, report);

  for (const keys of news) await ensureGroup(redis, keys.stream, options.group);
  // The old meta hashes stay as tombstones with the new count, so an instance still routing
  // with the old count is refused there too. Recorded before the old streams are dropped:
  // a worker with the old count then waits for a restart instead of recreating them.
  for (const keys of all) await recordCountOnPartition(redis, keys, to);
  await recordPartitionCount(redis, prefix, to);
  for (const keys of olds) await dropPartitionStream(redis, keys);

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

/** Moves every key of one old partition to the new partitions (see the top of this file). */
async function moveOldPartition(
  redis: RedisClient,
  source: PartitionKeys,
  news: readonly PartitionKeys[],
  report: ChangeReport,
): Promise<void> {
  // Sums over nodes: any one new partition may hold them; i % M spreads them.
  const sumsTarget = news[source.partition % news.length]!;
  for await (const batch of scanPartitionKeys(redis, source)) {
    const moves: [from: string, to: string][] = [];
    const obsolete: string[] = [];
    for (const entry of batch) {
      const { key, name, what } = entry;
      if (what.kind === 'own') continue;
      if (what.kind === 'obsolete') obsolete.push(key);
      else if (what.kind === 'node') moves.push([key, newPartitionOf(what.node, news).named(name)]);
      else if (what.kind === 'node-members') report.movedMembers += await moveMembers(redis, entry, (node) => newPartitionOf(node, news));
      else if (what.kind === 'node-fields')
        report.movedMembers += await moveFields(redis, entry, what.nodeOf, (node) => newPartitionOf(node, news));
      else if (what.kind === 'idempotency-record') await spreadIdempotencyRecord(redis, entry, news);
      else if (what.kind === 'processes') {
        await mergeSortedSet(redis, key, sumsTarget.processes);
        report.mergedHashes += 1;
      } else if (what.kind === 'fleet-latest') {
        await mergeSortedSet(redis, key, sumsTarget.fleetLatest);
        report.mergedHashes += 1;
      } else if (what.kind === 'buckets') {
        await mergeBucketHash(redis, entry, sumsTarget);
        report.mergedHashes += 1;
      } else report.unknownKeys.push(key);
    }
    report.movedKeys += await moveKeys(redis, moves);
    report.droppedKeys += await deleteKeys(redis, obsolete);
  }
}

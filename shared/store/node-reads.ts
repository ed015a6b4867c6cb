/**
 * Reads of the per-node state the worker keeps: the name index, node summaries, a node's
 * processes and its 1-second buckets. A call reads one partition, or fans out one call
 * per partition and merges in the process: no pipeline spans partitions (Redis Cluster).
 */
import type { BucketStats } from './bucket-codec';
import { nodeSecondField, nodeSecondsChunkOf, type PartitionKeys } from './keys';
import { partitionOf } from '../partition';
import type { RedisClient } from '../redis';
import { DependencyUnavailableError } from '../errors';
import { decodeNodeSummary, type NodeSummary } from './summary-codec';
import { readBuckets } from './window-reads';

export type { NodeSummary } from './summary-codec';

export interface NodeNameRange {
  /** Names strictly after this one. */
  after?: string;
  /** Only names starting with this. */
  prefix?: string;
}

function partitionOfNode(partitions: readonly PartitionKeys[], node: string): PartitionKeys {
  return partitions[partitionOf(node, partitions.length)]!;
}

/** Groups names by partition, keeping each name's position in `names`. */
function byPartition(partitions: readonly PartitionKeys[], names: readonly string[]): Map<number, { name: string; at: number }[]> {
  const groups = new Map<number, { name: string; at: number }[]>();
  names.forEach((name, at) => {
    const p = partitionOf(name, partitions.length);
    const list = groups.get(p);
    if (list) list.push({ name, at });
    else groups.set(p, [{ name, at }]);
  });
  return groups;
}

/**
 * One partition's share of a page of node names, in name order: its first `limit` names
 * in the range, and how many names of the prefix (or all) it holds.
 */
export async function readNodeNames(
  redis: RedisClient,
  keys: PartitionKeys,
  range: NodeNameRange,
  limit: number,
): Promise<{ names: string[]; total: number }> {
  const { after, prefix } = range;
  const low = prefix !== undefined && (after === undefined || after < prefix) ? `[${prefix}` : after !== undefined ? `(${after}` : '-';
  // Names are ASCII, so every name with the prefix sorts before prefix + U+00FF.
  const high = prefix !== undefined ? `[${prefix}\u00ff` : '+';
  const totalLow = prefix !== undefined ? `[${prefix}` : '-';
  const [names, total] = await Promise.all([
    redis.zrange(keys.nodeNames, low, high, 'BYLEX', 'LIMIT', 0, limit),
    redis.zlexcount(keys.nodeNames, totalLow, high),
  ]);
  return { names, total };
}

const summaryOf = (stored: Buffer | null): NodeSummary | null => (stored === null ? null : decodeNodeSummary(stored));

/** The summaries of `names` in their order (null where unknown): one HMGET per partition touched; all or nothing (503). */
export async function readNodeSummaries(
  redis: RedisClient,
  partitions: readonly PartitionKeys[],
  names: readonly string[],
): Promise<(NodeSummary | null)[]> {
  const summaries = new Array<NodeSummary | null>(names.length);
  await Promise.all(
    [...byPartition(partitions, names)].map(async ([p, list]) => {
      const values = await redis.hmgetBuffer(partitions[p]!.nodeSummaries, ...list.map(({ name }) => name)).catch((error: Error) => {
        throw new DependencyUnavailableError('Redis failed part of the read; nothing partial is answered. Retry later.', error);
      });
      list.forEach(({ at }, i) => (summaries[at] = summaryOf(values[i] ?? null)));
    }),
  );
  return summaries;
}

/** A node's summary, or null for an unknown node. */
export async function readNodeSummary(redis: RedisClient, partitions: readonly PartitionKeys[], node: string): Promise<NodeSummary | null> {
  return summaryOf(await redis.hgetBuffer(partitionOfNode(partitions, node).nodeSummaries, node));
}

/** The node's latest sample time (ms), or null for an unknown node. */
export async function readNodeLastSeen(redis: RedisClient, partitions: readonly PartitionKeys[], node: string): Promise<number | null> {
  return (await readNodeSummary(redis, partitions, node))?.last_at ?? null;
}

/** The processes seen on a node with their latest sample time (ms), in Redis's order. */
export async function readNodeProcesses(
  redis: RedisClient,
  partitions: readonly PartitionKeys[],
  node: string,
): Promise<{ name: string; lastSeenMs: number }[]> {
  const flat = await redis.zrange(partitionOfNode(partitions, node).nodeProcesses(node), 0, -1, 'WITHSCORES');
  const processes: { name: string; lastSeenMs: number }[] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) processes.push({ name: flat[i]!, lastSeenMs: Number(flat[i + 1]) });
  return processes;
}

/**
 * A node's 1-second buckets in the order asked (undefined where empty): one HMGET per
 * minute's hash, pipelined (one node's keys share its partition); all or nothing.
 */
export async function readNodeFineBuckets(
  redis: RedisClient,
  partitions: readonly PartitionKeys[],
  node: string,
  buckets: readonly number[],
): Promise<(BucketStats | undefined)[]> {
  const keys = partitionOfNode(partitions, node);
  const byChunk = new Map<number, string[]>();
  for (const b of buckets) {
    const chunk = nodeSecondsChunkOf(b);
    let fields = byChunk.get(chunk);
    if (fields === undefined) byChunk.set(chunk, (fields = []));
    fields.push(nodeSecondField(b, node));
  }
  const reads = [...byChunk].map(([chunk, fields]) => ({ key: keys.nodeSeconds(chunk), fields }));
  return (await readBuckets(redis, reads)).flat();
}

/** Nodes retained across partitions (the members of every partition's node set): one ZCARD per partition. */
export async function countRetainedNodes(redis: RedisClient, partitions: readonly PartitionKeys[]): Promise<number> {
  const counts = await Promise.all(partitions.map((p) => redis.zcard(p.nodes)));
  return counts.reduce((sum, count) => sum + count, 0);
}

/** Which of `names` the aggregates already hold: one ZMSCORE per partition touched. */
export async function findKnownNodes(
  redis: RedisClient,
  partitions: readonly PartitionKeys[],
  names: readonly string[],
): Promise<Set<string>> {
  const found = new Set<string>();
  await Promise.all(
    [...byPartition(partitions, names)].map(async ([p, list]) => {
      const scores = await redis.zmscore(partitions[p]!.nodes, ...list.map(({ name }) => name));
      scores.forEach((score, i) => {
        if (score !== null) found.add(list[i]!.name);
      });
    }),
  );
  return found;
}

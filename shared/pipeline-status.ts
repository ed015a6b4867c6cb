/** The pipeline view: per partition stream length, lag, pending, oldest pending entry, consumers. */
import type { PartitionKeys } from './store/keys';
import type { RedisClient } from './redis';
import { readPartitionStreamState } from './store/pipeline-reads';
import { shardsOf, type Shard } from './store/shard-map';
import { idAgeMs } from './stream-ids';

export interface ConsumerStatus {
  name: string;
  pending: number;
  idle_ms: number;
}

export interface PartitionStatus {
  partition: number;
  stream: string;
  length: number;
  /** Entries not yet delivered to the group (null when Redis cannot tell). */
  lag: number | null;
  pending: number;
  /** Age of the oldest entry still pending (ms since it was appended), null when none. */
  oldest_pending_age_ms: number | null;
  /** Id of the oldest entry still pending, null when none. */
  oldest_pending_id: string | null;
  last_delivered_id: string | null;
  consumers: ConsumerStatus[];
  last_applied: string | null;
  /** On a Redis Cluster, the master holding the partition (its slot); null on one Redis. */
  shard: Shard | null;
}

export interface PipelineStatus {
  partitions: PartitionStatus[];
  totals: { length: number; lag: number; pending: number; consumers: number; oldest_pending_age_ms: number | null };
  last_applied: string | null;
}

export async function readPipelineStatus(redis: RedisClient, partitions: readonly PartitionKeys[], group: string): Promise<PipelineStatus> {
  const [statuses, shards] = await Promise.all([
    Promise.all(partitions.map((p) => readPartition(redis, p, group))),
    shardsOf(
      redis,
      partitions.map((p) => p.stream),
    ),
  ]);
  statuses.forEach((status, i) => (status.shard = shards[i] ?? null));
  const consumers = new Set(statuses.flatMap((s) => s.consumers.map((c) => c.name)));
  const applied = statuses
    .map((s) => s.last_applied)
    .filter((x): x is string => x !== null)
    .sort();
  return {
    partitions: statuses,
    totals: {
      length: statuses.reduce((a, s) => a + s.length, 0),
      lag: statuses.reduce((a, s) => a + (s.lag ?? 0), 0),
      pending: statuses.reduce((a, s) => a + s.pending, 0),
      consumers: consumers.size,
      oldest_pending_age_ms: statuses.reduce<number | null>(
        (a, s) => (s.oldest_pending_age_ms === null ? a : Math.max(a ?? 0, s.oldest_pending_age_ms)),
        null,
      ),
    },
    last_applied: applied[applied.length - 1] ?? null,
  };
}

async function readPartition(redis: RedisClient, keys: PartitionKeys, group: string): Promise<PartitionStatus> {
  const { length, group: info, consumers, pending, lastAppliedMs } = await readPartitionStreamState(redis, keys, group);
  // An entry id starts with the millisecond it was appended.
  const oldestPendingId = pending.oldestId;
  return {
    partition: keys.partition,
    stream: keys.stream,
    length,
    // Without the group every entry is undelivered; with it, Redis may not know (null).
    lag: info ? info.lag : length,
    pending: info ? info.pending : 0,
    oldest_pending_age_ms: oldestPendingId === null ? null : idAgeMs(oldestPendingId, Date.now()),
    oldest_pending_id: oldestPendingId,
    last_delivered_id: info ? info.lastDeliveredId : null,
    consumers: consumers.map((c) => ({ name: c.name, pending: c.pending, idle_ms: c.idleMs })),
    last_applied: lastAppliedMs === null ? null : new Date(lastAppliedMs).toISOString(),
    shard: null,
  };
}

/** The pipeline view: per partition stream length, lag, pending, oldest pending entry, consumers. */
import type { PartitionKeys } from './store/keys';
import type { RedisClient } from './redis';
import { replyToRecord } from './redis-replies';

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
}

export interface PipelineStatus {
  partitions: PartitionStatus[];
  totals: { length: number; lag: number; pending: number; consumers: number; oldest_pending_age_ms: number | null };
  last_applied: string | null;
}

export async function readPipelineStatus(redis: RedisClient, partitions: readonly PartitionKeys[], group: string): Promise<PipelineStatus> {
  const statuses = await Promise.all(partitions.map((p) => readPartition(redis, p, group)));
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
  const [length, groups, lastApplied] = await Promise.all([
    redis.xlen(keys.stream),
    // A stream not created yet has no groups; any other failure fails the read (never a 200 with guesses).
    (redis.xinfo('GROUPS', keys.stream) as Promise<unknown[][]>).catch((error: Error) => {
      if (/no such key/i.test(error.message)) return [] as unknown[][];
      throw error;
    }),
    redis.hget(keys.meta, 'last_applied_ms'),
  ]);
  const info = groups.map(replyToRecord).find((g) => g.name === group);
  let consumers: ConsumerStatus[] = [];
  let oldestPendingAge: number | null = null;
  let oldestPendingId: string | null = null;
  if (info) {
    const [raw, summary] = await Promise.all([
      redis.xinfo('CONSUMERS', keys.stream, group) as Promise<unknown[][]>,
      redis.xpending(keys.stream, group) as Promise<[number, string | null, ...unknown[]]>,
    ]);
    consumers = raw.map(replyToRecord).map((c) => ({ name: String(c.name), pending: Number(c.pending), idle_ms: Number(c.idle) }));
    // An entry id starts with the millisecond it was appended.
    if (summary[0] > 0 && summary[1]) {
      oldestPendingId = summary[1];
      oldestPendingAge = Math.max(0, Date.now() - Number(summary[1].split('-')[0]));
    }
  }
  return {
    partition: keys.partition,
    stream: keys.stream,
    length,
    lag: info?.lag === undefined || info.lag === null ? (info ? null : length) : Number(info.lag),
    pending: info ? Number(info.pending) : 0,
    oldest_pending_age_ms: oldestPendingAge,
    oldest_pending_id: oldestPendingId,
    last_delivered_id: info ? String(info['last-delivered-id']) : null,
    consumers,
    last_applied: lastApplied === null ? null : new Date(Number(lastApplied)).toISOString(),
  };
}

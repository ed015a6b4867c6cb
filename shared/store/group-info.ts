/**
 * What Redis knows about a partition stream's consumer group: XINFO GROUPS, XINFO
 * CONSUMERS and the XPENDING summary, read and parsed here only. The replies differ
 * between Redis versions: `entries-read` and `lag` exist from 7.0 on (and `lag` is nil
 * when Redis cannot tell, e.g. after entries were deleted mid-stream); `inactive` per
 * consumer exists from 7.2 on, where `idle` also changed meaning (since the last attempted
 * interaction, not the last successful one).
 */
import type { PartitionKeys } from './keys';
import type { RedisClient } from '../redis';
import { classifyRedisError } from './redis-errors';
import { sendRouted } from './routed-command';

export interface GroupInfo {
  name: string;
  consumers: number;
  /** Entries delivered and not yet acknowledged. */
  pending: number;
  lastDeliveredId: string;
  /** Entries delivered so far; null before Redis 7.0 or when Redis cannot tell. */
  entriesRead: number | null;
  /** Entries not yet delivered; null before Redis 7.0 or when Redis cannot tell. */
  lag: number | null;
}

export interface ConsumerInfo {
  name: string;
  pending: number;
  /** Ms since the consumer's last interaction (7.2+: attempted; 7.0: successful). */
  idleMs: number;
  /** Ms since the consumer's last successful read or claim (Redis 7.2+; null before, or never). */
  inactiveMs: number | null;
}

export interface PendingSummary {
  count: number;
  /** The oldest pending entry's id, null when nothing is pending. */
  oldestId: string | null;
  newestId: string | null;
}

export interface StreamInfo {
  length: number;
  lastGeneratedId: string;
}

/** Flat field-value reply ([f1, v1, f2, v2, ...]) as a record. */
function fieldsOf(reply: readonly unknown[]): Record<string, unknown> {
  const record: Record<string, unknown> = {};
  for (let i = 0; i + 1 < reply.length; i += 2) record[String(reply[i])] = reply[i + 1];
  return record;
}

function numberOrNull(value: unknown): number | null {
  return value === undefined || value === null ? null : Number(value);
}

export function parseGroup(reply: readonly unknown[]): GroupInfo {
  const f = fieldsOf(reply);
  return {
    name: String(f.name),
    consumers: Number(f.consumers),
    pending: Number(f.pending),
    lastDeliveredId: String(f['last-delivered-id']),
    entriesRead: numberOrNull(f['entries-read']),
    lag: numberOrNull(f.lag),
  };
}

export function parseConsumer(reply: readonly unknown[]): ConsumerInfo {
  const f = fieldsOf(reply);
  const inactive = numberOrNull(f.inactive);
  return {
    name: String(f.name),
    pending: Number(f.pending),
    idleMs: Number(f.idle),
    // 7.2 answers -1 for a consumer that never read successfully.
    inactiveMs: inactive === null || inactive < 0 ? null : inactive,
  };
}

/** Every group of a stream (by name: also streams not addressed by partition); none when the stream does not exist. */
export async function streamGroups(redis: RedisClient, stream: string): Promise<GroupInfo[]> {
  try {
    return ((await sendRouted(redis, stream, 'xinfo', ['GROUPS', stream])) as unknown[][]).map(parseGroup);
  } catch (error) {
    if (classifyRedisError(error) === 'no-such-key') return [];
    throw error;
  }
}

/** The group on a partition stream; null when the stream or the group does not exist. */
export async function groupInfo(redis: RedisClient, keys: PartitionKeys, group: string): Promise<GroupInfo | null> {
  return (await streamGroups(redis, keys.stream)).find((g) => g.name === group) ?? null;
}

/** The group's consumers. Fails (NOGROUP / no such key) when the group or stream is missing. */
export async function groupConsumers(redis: RedisClient, keys: PartitionKeys, group: string): Promise<ConsumerInfo[]> {
  return ((await sendRouted(redis, keys.stream, 'xinfo', ['CONSUMERS', keys.stream, group])) as unknown[][]).map(parseConsumer);
}

/** XPENDING's summary form. Fails with NOGROUP when the group or stream is missing. */
export async function pendingSummary(redis: RedisClient, keys: PartitionKeys, group: string): Promise<PendingSummary> {
  const [count, oldest, newest] = (await redis.xpending(keys.stream, group)) as [number, string | null, string | null, unknown];
  return Number(count) > 0 ? { count: Number(count), oldestId: oldest, newestId: newest } : { count: 0, oldestId: null, newestId: null };
}

/** Length and last id of a partition stream; null when it does not exist. */
export async function streamInfo(redis: RedisClient, keys: PartitionKeys): Promise<StreamInfo | null> {
  try {
    const f = fieldsOf((await sendRouted(redis, keys.stream, 'xinfo', ['STREAM', keys.stream])) as unknown[]);
    return { length: Number(f.length), lastGeneratedId: String(f['last-generated-id']) };
  } catch (error) {
    if (classifyRedisError(error) === 'no-such-key') return null;
    throw error;
  }
}

export async function streamLength(redis: RedisClient, keys: PartitionKeys): Promise<number> {
  return redis.xlen(keys.stream);
}

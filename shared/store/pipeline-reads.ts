/**
 * What the pipeline view and its figures read of one partition: the stream, its group with
 * consumers and oldest pending entry, and when the worker last applied anything. One
 * partition per call (its keys share one hash tag); callers run partitions in parallel.
 */
import type { PartitionKeys } from './keys';
import type { RedisClient } from '../redis';
import {
  groupConsumers,
  groupInfo,
  pendingSummary,
  streamLength,
  type ConsumerInfo,
  type GroupInfo,
  type PendingSummary,
} from './group-info';

/** The meta hash field every apply sets to the time of the last apply (ms). */
const LAST_APPLIED_FIELD = 'last_applied_ms';

export interface PartitionStreamState {
  length: number;
  /** null while the group does not exist (nor, then, consumers or pending entries). */
  group: GroupInfo | null;
  consumers: ConsumerInfo[];
  pending: PendingSummary;
  lastAppliedMs: number | null;
}

const NOTHING_PENDING: PendingSummary = { count: 0, oldestId: null, newestId: null };

export async function readPartitionStreamState(redis: RedisClient, keys: PartitionKeys, group: string): Promise<PartitionStreamState> {
  const [length, info, lastApplied] = await Promise.all([
    streamLength(redis, keys),
    groupInfo(redis, keys, group),
    redis.hget(keys.meta, LAST_APPLIED_FIELD),
  ]);
  const [consumers, pending] = info
    ? await Promise.all([groupConsumers(redis, keys, group), pendingSummary(redis, keys, group)])
    : [[], NOTHING_PENDING];
  return { length, group: info, consumers, pending, lastAppliedMs: lastApplied === null ? null : Number(lastApplied) };
}

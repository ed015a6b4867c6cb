/**
 * A consumer's liveness in Redis: one heartbeat key per consumer and partition, with a TTL.
 * Removing a consumer happens only in remove-consumer.lua, which re-checks the heartbeat
 * and the consumer's pending entries in the same atomic step as the delete.
 */
import type { PartitionKeys } from './keys';
import { registerScripts } from './scripts';
import type { RedisClient } from '../redis';

export type RemovalOutcome = 'removed' | 'has-pending' | 'alive';

/** remove-consumer.lua's answers. */
const REMOVAL_OUTCOMES: Record<number, RemovalOutcome> = { 1: 'removed', 0: 'has-pending', [-1]: 'alive' };

/**
 * Removes `consumer` from the group if it holds nothing pending and, for 'expired', its
 * heartbeat has expired; 'leaving' is the consumer itself on shutdown.
 */
export async function removeConsumer(
  redis: RedisClient,
  keys: PartitionKeys,
  group: string,
  consumer: string,
  mode: 'expired' | 'leaving',
): Promise<RemovalOutcome> {
  registerScripts(redis);
  const result = Number(await redis.removeConsumer(keys.stream, keys.consumerHeartbeat(consumer), group, consumer, mode));
  return REMOVAL_OUTCOMES[result] ?? 'alive';
}

/**
 * Keeps one consumer's heartbeat on one partition alive for `ttlMs`. PEXPIRE first: it is
 * allowed when Redis is out of memory (SET is not), so a running consumer stays alive
 * under memory pressure; SET only when the key is missing.
 */
export async function refreshHeartbeat(redis: RedisClient, keys: PartitionKeys, consumer: string, ttlMs: number): Promise<void> {
  const key = keys.consumerHeartbeat(consumer);
  if ((await redis.pexpire(key, ttlMs)) === 0) await redis.set(key, '1', 'PX', ttlMs);
}

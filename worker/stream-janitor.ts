/**
 * Keeps partition streams bounded without losing anything: trims only below the oldest
 * entry any group still needs, and removes consumers that left (heartbeat expired) with nothing pending.
 */
import type { PartitionKeys } from '../shared/store/keys';
import type { RedisClient } from '../shared/redis';
import { removeConsumer } from '../shared/store/consumer-liveness';
import { groupConsumers } from '../shared/store/group-info';
import { safeTrimBound, trimStreamBelow } from '../shared/store/stream-trim';

export interface JanitorReport {
  partition: number;
  trimmed: number;
  minId: string | null;
  removedConsumers: string[];
}

export async function tidyPartition(
  redis: RedisClient,
  keys: PartitionKeys,
  group: string,
  consumerExpiryMs: number,
): Promise<JanitorReport> {
  const report: JanitorReport = { partition: keys.partition, trimmed: 0, minId: null, removedConsumers: [] };
  const bound = await safeTrimBound(redis, keys);
  if (bound !== null) {
    report.minId = bound;
    report.trimmed = await trimStreamBelow(redis, keys, bound);
  }
  const consumers = await groupConsumers(redis, keys, group).catch(() => []);
  for (const consumer of consumers) {
    // XINFO only picks candidates (idle means different things on Redis 7.0 and 7.2); the
    // decision is remove-consumer.lua's: heartbeat expired and nothing pending, atomically.
    if (consumer.pending === 0 && consumer.idleMs > consumerExpiryMs) {
      const outcome = await removeConsumer(redis, keys, group, consumer.name, 'expired');
      if (outcome === 'removed') report.removedConsumers.push(consumer.name);
    }
  }
  return report;
}

/**
 * The maintenance job runs once per tick, however many worker replicas are scaled out:
 * BullMQ's job lock decides, under one hash tag (`{bull}`) so it works on a Redis Cluster.
 */
import {
  allPartitionKeys,
  nodeSecondsChunkOf,
  nodeSecondsChunksPastRetention,
  nodeSecondsChunkExpiry,
  FINE_RETENTION_MS,
  fineBucketOf,
} from '../../shared/store/keys';
import { DeadLetterQueue } from '../../shared/dead-letter-queue';
import { Maintenance } from '../../worker/maintenance';
import { deletePrefix, quietLogger, testConfig, testRedis } from '../support/test-config';

/** Runs against the suite's Redis, or the cluster of a test in test/cluster/ (testEnv). */
export function maintenanceSingleRunScenarios(): void {
  describe('maintenance job', () => {
    test('two replicas scheduling the same maintenance job never run the same tick', async () => {
      const config = testConfig({ MAINTENANCE_INTERVAL_MS: '100' });
      const redis = testRedis(config);
      await redis.connect();
      const partitions = allPartitionKeys(config.keyPrefix, config.streamPartitions);
      const deadLetters = new DeadLetterQueue(config, redis);
      const replicas = [
        new Maintenance(config, redis, partitions, deadLetters, quietLogger),
        new Maintenance(config, redis, partitions, deadLetters, quietLogger),
      ];
      try {
        await Promise.all(replicas.map((r) => r.start()));
        await new Promise((r) => setTimeout(r, 2000));
      } finally {
        await Promise.all(replicas.map((r) => r.close()));
        await deadLetters.close();
        await deletePrefix(redis, config.keyPrefix);
        await redis.quit();
      }
      const ran = replicas.flatMap((r) => r.ticks.map((t) => t.jobId));
      expect(ran.length).toBeGreaterThanOrEqual(5);
      expect(new Set(ran).size).toBe(ran.length);
    });

    test("a tick unlinks the nodes' minute hashes past their retention and keeps the others", async () => {
      const config = testConfig();
      const redis = testRedis(config);
      await redis.connect();
      const partitions = allPartitionKeys(config.keyPrefix, config.streamPartitions);
      const deadLetters = new DeadLetterQueue(config, redis);
      const maintenance = new Maintenance(config, redis, partitions, deadLetters, quietLogger);
      const now = Date.now();
      const past = nodeSecondsChunksPastRetention(now);
      const oldest = past[0]!;
      const newestPast = past[past.length - 1]!;
      // The newest minute still retained: its retention ends within the next minute.
      const retained = nodeSecondsChunkOf(fineBucketOf(now - FINE_RETENTION_MS));
      try {
        for (const keys of partitions) {
          for (const chunk of [oldest, newestPast, retained]) {
            const key = keys.nodeSeconds(chunk);
            await redis.hset(key, '0:web-1', 'bucket');
            await redis.expireat(key, nodeSecondsChunkExpiry(chunk));
          }
        }
        const tick = await maintenance.tick('retention').then(() => maintenance.ticks[0]!);
        expect(tick.unlinkedMinutes).toBe(2 * partitions.length);
        for (const keys of partitions) {
          expect(await redis.exists(keys.nodeSeconds(oldest), keys.nodeSeconds(newestPast))).toBe(0);
          expect(await redis.hget(keys.nodeSeconds(retained), '0:web-1')).toBe('bucket');
        }
      } finally {
        await maintenance.close();
        await deadLetters.close();
        await deletePrefix(redis, config.keyPrefix);
        await redis.quit();
      }
    });
  });
}

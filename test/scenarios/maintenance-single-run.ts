/**
 * The maintenance job runs once per tick, however many worker replicas are scaled out:
 * BullMQ's job lock decides, under one hash tag (`{bull}`) so it works on a Redis Cluster.
 */
import { allPartitionKeys } from '../../shared/store/keys';
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
  });
}

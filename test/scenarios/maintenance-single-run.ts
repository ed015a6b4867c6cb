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
import { registerPipelineGauges } from '../../shared/pipeline-gauges';
import { readRecordedFigures } from '../../shared/store/recorded-figures';
import { Registry } from 'prom-client';
import { isCluster } from '../../shared/redis';
import type { Logger } from '../../shared/logger';
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

    test("a tick records each partition's node-seconds fields of the last complete minute, /metrics exports them, a cluster warns of large ones", async () => {
      const config = testConfig();
      const redis = testRedis(config);
      await redis.connect();
      const partitions = allPartitionKeys(config.keyPrefix, config.streamPartitions);
      const deadLetters = new DeadLetterQueue(config, redis);
      const warnings: string[] = [];
      const logger: Logger = Object.assign(Object.create(quietLogger) as Logger, {
        warn: (_fields: unknown, message: string) => warnings.push(message),
      });
      const maintenance = new Maintenance(config, redis, partitions, deadLetters, logger);
      // Partition 0 past the size at which moving its slot blocks a master for over 100 ms.
      const sizeOf = (partition: number) => (partition === 0 ? 50_001 : 1000 * partition);
      const registry = new Registry();
      registerPipelineGauges(registry, redis, config.keyPrefix);
      // Filled and ticked within one minute: not in a minute's last 5 s.
      const leftOfMinute = 60_000 - (Date.now() % 60_000);
      if (leftOfMinute < 5000) await new Promise((r) => setTimeout(r, leftOfMinute + 50));
      const minute = nodeSecondsChunkOf(fineBucketOf(Date.now()));
      try {
        // The previous minute: partition p holds sizeOf(p) fields; the current minute (incomplete) is not counted.
        for (const keys of partitions) {
          const fields = Array.from({ length: sizeOf(keys.partition) }, (_, i) => [`${i % 60}:node-${i}`, 'b']).flat();
          for (let from = 0; from < fields.length; from += 20_000)
            await redis.hset(keys.nodeSeconds(minute - 1), ...fields.slice(from, from + 20_000));
          await redis.hset(keys.nodeSeconds(minute), '0:node-0', 'b', '1:node-0', 'b');
        }
        await maintenance.tick('sizes');
        const recorded = await readRecordedFigures(redis, config.keyPrefix);
        expect(recorded!.partitions.map((p) => p.node_seconds_fields)).toEqual(partitions.map((keys) => sizeOf(keys.partition)));
        const gauge = await registry.getSingleMetric('nodeagg_node_seconds_hash_fields')!.get();
        expect(gauge.values.map((v) => [v.labels.partition, v.value])).toEqual(
          partitions.map((keys) => [String(keys.partition), sizeOf(keys.partition)]),
        );
        // Only a cluster moves slots: there, and only there, the tick warns.
        if (isCluster(redis)) expect(warnings).toEqual([expect.stringMatching(/hold 50001 fields; moving its slot/)]);
        else expect(warnings).toEqual([]);
      } finally {
        await maintenance.close();
        await deadLetters.close();
        await deletePrefix(redis, config.keyPrefix);
        await redis.quit();
      }
    });
  });
}

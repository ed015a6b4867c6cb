/**
 * Bounded streams (docs/ARCHITECTURE.md, failure handling): trimming never deletes an entry
 * some group still needs. The maintenance job trims each partition on its own (on a Redis
 * Cluster, on the master holding that partition's slot).
 */
import { ENTRY_FIELD, encodeSamples } from '../../shared/store/entry-codec';
import { partitionKeys } from '../../shared/store/keys';
import type { RedisClient } from '../../shared/redis';
import { ensureGroup } from '../../shared/store/stream-groups';
import { tidyPartition } from '../../worker/stream-janitor';
import { fleetTotals } from '../support/aggregate-totals';
import { waitForDrained } from '../support/stream-drain';
import { baseTime } from '../support/build-sample';
import { postJson } from '../support/fetch-json';
import { startPipeline } from '../support/pipeline';
import { deletePrefix, testConfig, testRedis } from '../support/test-config';

/** Runs against the suite's Redis, or the cluster of a test in test/cluster/ (testEnv). */
export function streamTrimmingScenarios(): void {
  describe('safe trimming', () => {
    test('pending and undelivered entries survive a trim; acknowledged ones go', async () => {
      const config = testConfig({ STREAM_PARTITIONS: '1' });
      const keys = partitionKeys(config.keyPrefix, 0, config.streamPartitions);
      const redis = testRedis(config);
      await redis.connect();
      try {
        await ensureGroup(redis, keys.stream, config.consumerGroup);
        await ensureGroup(redis, keys.stream, 'slow-group');
        const sample = encodeSamples([{ kind: 'node', node: 'n', at: baseTime(), timeslice: 1, cpu: 1, mem: 1 }]);
        const ids: string[] = [];
        for (let i = 0; i < 10; i++) ids.push((await redis.xadd(keys.stream, '*', ENTRY_FIELD, sample))!);
        // aggregators: 6 delivered, the first 4 acknowledged -> entries 5 and 6 pending, 7-10 undelivered.
        await redis.xreadgroup('GROUP', config.consumerGroup, 'c1', 'COUNT', 6, 'STREAMS', keys.stream, '>');
        await redis.xack(keys.stream, config.consumerGroup, ...ids.slice(0, 4));
        // slow-group: 3 delivered and acknowledged -> it still needs entry 4 on.
        await redis.xreadgroup('GROUP', 'slow-group', 'c2', 'COUNT', 3, 'STREAMS', keys.stream, '>');
        await redis.xack(keys.stream, 'slow-group', ...ids.slice(0, 3));

        const report = await tidyPartition(redis, keys, config.consumerGroup, 60_000);
        expect(report.trimmed).toBe(3);
        const left = (await redis.xrange(keys.stream, '-', '+')).map(([id]) => id);
        expect(left).toEqual(ids.slice(3));

        await redis.xgroup('DESTROY', keys.stream, 'slow-group');
        await tidyPartition(redis, keys, config.consumerGroup, 60_000);
        expect((await redis.xrange(keys.stream, '-', '+')).map(([id]) => id)).toEqual(ids.slice(4));
      } finally {
        await deletePrefix(redis, config.keyPrefix);
        await redis.quit();
      }
    });

    test('under load with maintenance every 100 ms the stream stays bounded and every sample counts', async () => {
      const config = testConfig({ STREAM_PARTITIONS: '2', MAINTENANCE_INTERVAL_MS: '100' });
      const pipeline = await startPipeline(config);
      const redis: RedisClient = testRedis(config);
      await redis.connect();
      try {
        const t = baseTime();
        let sent = 0;
        let maxLength = 0;
        for (let request = 0; request < 300; request++) {
          const items = Array.from({ length: 10 }, (_, i) => ({
            node: `n${(request + i) % 17}`,
            at: t - ((request * 10 + i) % 1800) * 1000,
            timeslice: 2,
            cpu: 3,
            mem: 4,
          }));
          expect((await postJson(`${pipeline.url}/v1/samples`, items)).status).toBe(202);
          sent += items.length;
          if (request % 20 === 0) {
            const lengths = await Promise.all(
              [0, 1].map((p) => redis.xlen(partitionKeys(config.keyPrefix, p, config.streamPartitions).stream)),
            );
            maxLength = Math.max(maxLength, ...lengths);
          }
        }
        await waitForDrained(redis, config.keyPrefix, 2, config.consumerGroup, 20_000);
        expect((await fleetTotals(redis, config.keyPrefix, 2)).samples).toBe(sent);
        // 600 entries were appended; trimming kept each stream far below that.
        expect(maxLength).toBeLessThan(300);
        const deadline = Date.now() + 5000;
        let total = Infinity;
        while (total > 2 && Date.now() < deadline) {
          total = (
            await Promise.all([0, 1].map((p) => redis.xlen(partitionKeys(config.keyPrefix, p, config.streamPartitions).stream)))
          ).reduce((a, b) => a + b, 0);
          await new Promise((r) => setTimeout(r, 100));
        }
        expect(total).toBeLessThanOrEqual(2);
      } finally {
        await redis.quit();
        await pipeline.stop();
      }
    });
  });
}

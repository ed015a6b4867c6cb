/**
 * nodeagg_apply_delay_seconds: per applied entry, the time from its append (its stream id)
 * to the apply that counted it. Entries appended with ids a known time in the past land in
 * the buckets that time puts them in; an id ahead of the worker's clock counts as no delay.
 */
import { encodeSamples, ENTRY_FIELD } from '../../shared/store/entry-codec';
import { DeadLetterQueue } from '../../shared/dead-letter-queue';
import { partitionKeys } from '../../shared/store/keys';
import type { RedisClient } from '../../shared/redis';
import { ensureGroup } from '../../shared/store/stream-groups';
import { AggregateStore } from '../../shared/store/batch-apply';
import { createWorkerMetrics } from '../../worker/metrics';
import { StreamConsumer } from '../../worker/stream-consumer';
import { waitForDrained } from '../support/stream-drain';
import { deletePrefix, quietLogger, testConfig, testRedis } from '../support/test-config';

describe('the apply delay histogram', () => {
  const config = testConfig({ STREAM_PARTITIONS: '1' });
  const keys = partitionKeys(config.keyPrefix, 0, config.streamPartitions);
  let redis: RedisClient;
  let reader: RedisClient;
  let deadLetters: DeadLetterQueue;

  beforeAll(async () => {
    redis = testRedis(config);
    reader = testRedis(config);
    await Promise.all([redis.connect(), reader.connect()]);
    await ensureGroup(redis, keys.stream, config.consumerGroup);
    deadLetters = new DeadLetterQueue(config, redis);
  });
  afterAll(async () => {
    await deadLetters.close();
    await deletePrefix(redis, config.keyPrefix);
    await Promise.all([redis.quit(), reader.quit()]);
  });

  test('each applied entry is observed once, by the age its id gives it', async () => {
    const now = Date.now();
    const entryAt = (appendedAt: number, seq: number, node: string) =>
      redis.xadd(
        keys.stream,
        `${appendedAt}-${seq}`,
        ENTRY_FIELD,
        encodeSamples([{ kind: 'node', node, at: now - 1000, timeslice: 1, cpu: 1, mem: 1 }]),
      );
    // Two entries 40 s old, one 4 s old, one stamped a minute ahead (a Redis clock ahead of the worker's).
    await entryAt(now - 40_000, 0, 'old-a');
    await entryAt(now - 40_000, 1, 'old-b');
    await entryAt(now - 4_000, 0, 'recent');
    await entryAt(now + 60_000, 0, 'ahead');
    const metrics = createWorkerMetrics();
    const consumer = new StreamConsumer(keys, {
      config,
      redis,
      reader,
      store: new AggregateStore(redis, config.consumerGroup, config.workerConsumerName),
      deadLetters,
      metrics,
      logger: quietLogger,
    });
    consumer.start();
    try {
      await waitForDrained(redis, config.keyPrefix, 1, config.consumerGroup, 20_000);
    } finally {
      await consumer.stop();
    }
    const { values } = await metrics.applyDelay.get();
    const bucket = (le: number) => values.find((v) => v.metricName === 'nodeagg_apply_delay_seconds_bucket' && v.labels.le === le)!.value;
    const count = values.find((v) => v.metricName === 'nodeagg_apply_delay_seconds_count')!.value;
    expect(count).toBe(4);
    expect(bucket(0.005)).toBe(1); // the entry from the future
    expect(bucket(2.5)).toBe(1);
    expect(bucket(5)).toBe(2); // plus the 4 s old one (applied within a second)
    expect(bucket(30)).toBe(2);
    expect(bucket(60)).toBe(4);
    const sum = values.find((v) => v.metricName === 'nodeagg_apply_delay_seconds_sum')!.value;
    expect(sum).toBeGreaterThanOrEqual(84);
    expect(sum).toBeLessThan(90);
  });
});

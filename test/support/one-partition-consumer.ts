/**
 * A test that runs the worker's real consumers on one partition: its own key prefix,
 * consumer group and dead-letter queue on the test Redis (set up before the file's tests,
 * deleted after), consumers built as the worker builds them, and a run until drained.
 */
import { DeadLetterQueue } from '../../shared/dead-letter-queue';
import { partitionKeys, type PartitionKeys } from '../../shared/store/keys';
import { ensureGroup } from '../../shared/store/stream-groups';
import type { AggregateStore } from '../../shared/store/batch-apply';
import type { Config } from '../../shared/config';
import type { RedisClient } from '../../shared/redis';
import { createWorkerMetrics, type WorkerMetrics } from '../../worker/metrics';
import { StreamConsumer } from '../../worker/stream-consumer';
import { waitForDrained } from './stream-drain';
import { deletePrefix, quietLogger, testConfig, testRedis } from './test-config';

export interface ConsumerOptions {
  /** Its dead-letter queue (default: the file's). */
  deadLetters?: DeadLetterQueue;
  /** Its blocking-read connection (default: the file's). */
  reader?: RedisClient;
  metrics?: WorkerMetrics;
  config?: Partial<Config>;
}

export interface OnePartitionConsumers {
  readonly config: Config;
  readonly keys: PartitionKeys;
  /** The connected clients and queue (from the first test on). */
  redis(): RedisClient;
  deadLetters(): DeadLetterQueue;
  consumer(name: string, store: AggregateStore, options?: ConsumerOptions): StreamConsumer;
  /** Starts the consumer, waits until the partition has nothing left to deliver or acknowledge, stops it. */
  runUntilDrained(consumer: StreamConsumer): Promise<void>;
}

export function onePartitionConsumers(env: Record<string, string> = {}): OnePartitionConsumers {
  const config = testConfig({ STREAM_PARTITIONS: '1', ...env });
  const keys = partitionKeys(config.keyPrefix, 0, config.streamPartitions);
  let clients: { redis: RedisClient; reader: RedisClient; deadLetters: DeadLetterQueue } | undefined;
  const started = () => {
    if (!clients) throw new Error('the consumer test has not started');
    return clients;
  };
  beforeAll(async () => {
    const redis = testRedis(config);
    const reader = testRedis(config);
    await Promise.all([redis.connect(), reader.connect()]);
    await ensureGroup(redis, keys.stream, config.consumerGroup);
    clients = { redis, reader, deadLetters: new DeadLetterQueue(config, redis) };
  });
  afterAll(async () => {
    const { redis, reader, deadLetters } = started();
    await deadLetters.close();
    await deletePrefix(redis, config.keyPrefix);
    await Promise.all([redis.quit(), reader.quit()]);
  });
  return {
    config,
    keys,
    redis: () => started().redis,
    deadLetters: () => started().deadLetters,
    consumer: (name, store, options = {}) => {
      const { redis, reader, deadLetters } = started();
      return new StreamConsumer(keys, {
        config: { ...config, ...options.config, workerConsumerName: name },
        redis,
        reader: options.reader ?? reader,
        store,
        deadLetters: options.deadLetters ?? deadLetters,
        metrics: options.metrics ?? createWorkerMetrics(),
        logger: quietLogger,
      });
    },
    runUntilDrained: async (consumer) => {
      consumer.start();
      try {
        await waitForDrained(started().redis, config.keyPrefix, 1, config.consumerGroup, 20_000);
      } finally {
        await consumer.stop();
      }
    },
  };
}

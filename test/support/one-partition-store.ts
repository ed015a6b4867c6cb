/**
 * A test of the store's apply on one partition: its own key prefix and consumer group on the
 * test Redis (set up before the file's tests, deleted after), and entries appended and
 * delivered to a consumer as the worker's read would deliver them.
 */
import { encodeSamples, ENTRY_FIELD } from '../../shared/store/entry-codec';
import { partitionKeys, type PartitionKeys } from '../../shared/store/keys';
import { ensureGroup } from '../../shared/store/stream-groups';
import type { Config } from '../../shared/config';
import type { RedisClient } from '../../shared/redis';
import type { Sample } from '../../shared/samples';
import { deletePrefix, testConfig, testRedis } from './test-config';

export interface OnePartitionStore {
  readonly config: Config;
  readonly keys: PartitionKeys;
  /** The connected client (from the first test on). */
  redis(): RedisClient;
  /** Appends one entry of `samples` and delivers it to `consumer`; answers its id. */
  deliver(consumer: string, samples: readonly Sample[]): Promise<string>;
  /** Deletes the prefix's keys and creates the group again. */
  reset(): Promise<void>;
}

export function onePartitionStore(): OnePartitionStore {
  const config = testConfig({ STREAM_PARTITIONS: '1' });
  const keys = partitionKeys(config.keyPrefix, 0, config.streamPartitions);
  let redis: RedisClient | undefined;
  const client = () => {
    if (!redis) throw new Error('the store test has not started');
    return redis;
  };
  beforeAll(async () => {
    redis = testRedis(config);
    await redis.connect();
    await ensureGroup(redis, keys.stream, config.consumerGroup);
  });
  afterAll(async () => {
    await deletePrefix(client(), config.keyPrefix);
    await client().quit();
  });
  return {
    config,
    keys,
    redis: client,
    async deliver(consumer, samples) {
      const id = (await client().xadd(keys.stream, '*', ENTRY_FIELD, encodeSamples(samples)))!;
      await client().xreadgroup('GROUP', config.consumerGroup, consumer, 'COUNT', 1, 'STREAMS', keys.stream, '>');
      return id;
    },
    async reset() {
      await deletePrefix(client(), config.keyPrefix);
      await ensureGroup(client(), keys.stream, config.consumerGroup);
    },
  };
}

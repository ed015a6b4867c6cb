/**
 * The janitor racing live consumers: with CONSUMER_EXPIRY_MS at its minimum and workers
 * blocked in XREADGROUP (whose idle time Redis 7.0 does not refresh), janitor passes run
 * back to back while entries keep arriving. No entry may leave the pending list without
 * being applied: every posted sample is counted, and no live consumer is ever removed.
 */
import { startIngest, type RunningIngest } from '../../ingest/server';
import { partitionKeys } from '../../shared/store/keys';
import type { RedisClient } from '../../shared/redis';
import { startWorker, type RunningWorker } from '../../worker/server';
import { tidyPartition } from '../../worker/stream-janitor';
import { removeConsumer } from '../../shared/store/consumer-liveness';
import { ensureGroup } from '../../shared/store/stream-groups';
import { waitUntil } from '../support/wait-until';
import { fleetTotals } from '../support/aggregate-totals';
import { waitForDrained } from '../support/stream-drain';
import { baseTime } from '../support/build-sample';
import { postJson } from '../support/fetch-json';
import { deletePrefix, quietLogger, testEnv, testRedis } from '../support/test-config';
import { loadConfig } from '../../shared/config';

const PARTITIONS = 1;
const WORKERS = 6;
const POSTS = 120;

test('janitor passes racing live consumers never drop a pending entry', async () => {
  const env = testEnv({
    STREAM_PARTITIONS: String(PARTITIONS),
    CONSUMER_EXPIRY_MS: '1000',
    WORKER_BLOCK_MS: '3000',
    MAINTENANCE_INTERVAL_MS: '100000',
  });
  const config = loadConfig(env);
  const redis: RedisClient = testRedis(config);
  await redis.connect();
  const ingest: RunningIngest = await startIngest(config, quietLogger);
  const workers: RunningWorker[] = [];
  const liveNames = Array.from({ length: WORKERS }, (_, i) => `live-${i}`);
  for (const name of liveNames) workers.push(await startWorker(loadConfig({ ...env, WORKER_CONSUMER_NAME: name }), quietLogger));

  let posting = true;
  const removedLive: string[] = [];
  const janitor = async () => {
    while (posting) {
      for (let p = 0; p < PARTITIONS; p++) {
        const report = await tidyPartition(
          redis,
          partitionKeys(config.keyPrefix, p, config.streamPartitions),
          config.consumerGroup,
          config.consumerExpiryMs,
        );
        removedLive.push(...report.removedConsumers.filter((name) => liveNames.includes(name)));
      }
    }
  };
  const janitors = [janitor(), janitor(), janitor()];

  try {
    const t = baseTime();
    let posted = 0;
    // Sparse deliveries: each consumer idles past the expiry between its entries.
    for (let i = 0; i < POSTS; i++) {
      const response = await postJson(`${ingest.url}/v1/metrics/node/race-${i % 40}`, { at: t + i * 1000, timeslice: 1, cpu: 10, mem: 20 });
      expect(response.status).toBe(202);
      posted += 1;
      await new Promise((r) => setTimeout(r, 150 + Math.random() * 200));
    }
    posting = false;
    await Promise.all(janitors);
    await waitForDrained(redis, config.keyPrefix, PARTITIONS, config.consumerGroup, 30_000);
    const totals = await fleetTotals(redis, config.keyPrefix, PARTITIONS);
    expect({ counted: totals.samples, removedLive: removedLive.length }).toEqual({ counted: posted, removedLive: 0 });
  } finally {
    posting = false;
    await Promise.allSettled(janitors);
    for (const worker of workers) await worker.close();
    await ingest.close();
    await deletePrefix(redis, config.keyPrefix);
    await redis.quit();
  }
}, 180_000);

test('the janitor removes a consumer that left, never one with a heartbeat or pending entries', async () => {
  const config = loadConfig(testEnv({ STREAM_PARTITIONS: '1', CONSUMER_EXPIRY_MS: '1000' }));
  const keys = partitionKeys(config.keyPrefix, 0, config.streamPartitions);
  const redis = testRedis(config);
  await redis.connect();
  try {
    await ensureGroup(redis, keys.stream, config.consumerGroup);
    await redis.xadd(keys.stream, '*', 'd', 'x');
    await redis.xadd(keys.stream, '*', 'd', 'y');
    await redis.xadd(keys.stream, '*', 'd', 'z');
    /** Reads one entry as `consumer`; returns its id. */
    const read = async (consumer: string) => {
      const reply = (await redis.xreadgroup('GROUP', config.consumerGroup, consumer, 'COUNT', 1, 'STREAMS', keys.stream, '>')) as [
        string,
        [string, string[]][],
      ][];
      return reply[0]![1][0]![0];
    };
    await redis.xack(keys.stream, config.consumerGroup, await read('gone'));
    await read('holding'); // keeps its entry pending
    await redis.xack(keys.stream, config.consumerGroup, await read('alive'));
    await redis.set(keys.consumerHeartbeat('alive'), '1', 'PX', 60_000);
    const consumers = async () =>
      ((await redis.xinfo('CONSUMERS', keys.stream, config.consumerGroup)) as unknown[][]).map((c) => String(c[1])).sort();
    await waitUntil(
      async () => {
        await tidyPartition(redis, keys, config.consumerGroup, config.consumerExpiryMs);
        return !(await consumers()).includes('gone');
      },
      15_000,
      200,
    );
    expect(await consumers()).toEqual(['alive', 'holding']);
    expect(await removeConsumer(redis, keys, config.consumerGroup, 'holding', 'expired')).toBe('has-pending');
    expect(await removeConsumer(redis, keys, config.consumerGroup, 'alive', 'expired')).toBe('alive');
    expect(await removeConsumer(redis, keys, config.consumerGroup, 'alive', 'leaving')).toBe('removed');
    expect(await redis.exists(keys.consumerHeartbeat('alive'))).toBe(0);
  } finally {
    await deletePrefix(redis, config.keyPrefix);
    await redis.quit();
  }
});

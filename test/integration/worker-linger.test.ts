/**
 * WORKER_BATCH_LINGER_MS: while a stream trickles, the worker waits the linger before it
 * reads, so each apply carries many entries for one read (not a read that finds the first
 * entry, then a second after the linger). Counted on a private Redis: reads per apply, and
 * entries per apply, with every sample applied.
 */
import { startPrivateRedis, type PrivateRedis } from '../../launcher/private-redis';
import { loadConfig } from '../../shared/config';
import { createRedisClient, type RedisClient } from '../../shared/redis';
import { encodeSamples } from '../../shared/store/entry-codec';
import { SampleAppender } from '../../shared/store/sample-append';
import { startWorker, type RunningWorker } from '../../worker/server';
import { fleetTotals } from '../support/aggregate-totals';
import { baseTime } from '../support/build-sample';
import { commandCounts, resetCommandStats } from '../support/redis-commands';
import { quietLogger, testEnv } from '../support/test-config';
import { waitUntil } from '../support/wait-until';

const ENTRIES = 600;
const TRICKLE_MS = 2;

describe('worker linger', () => {
  let redisServer: PrivateRedis;
  let redis: RedisClient;
  let worker: RunningWorker;
  const env = testEnv({ STREAM_PARTITIONS: '1', WORKER_BATCH_LINGER_MS: '25' });

  beforeAll(async () => {
    redisServer = await startPrivateRedis();
    const config = loadConfig({ ...env, REDIS_URL: redisServer.url });
    worker = await startWorker(config, quietLogger);
    redis = createRedisClient(config, { connectionName: 'worker-linger-test' });
    await redis.connect();
  });
  afterAll(async () => {
    await worker?.close();
    await redis?.quit();
    await redisServer?.destroy();
  });

  test('a trickling stream is read once per apply, each apply carrying several entries', async () => {
    const appender = new SampleAppender(redis, env.KEY_PREFIX!, 1);
    const t = baseTime();
    await resetCommandStats(redis);
    for (let i = 0; i < ENTRIES; i++) {
      const samples = [{ kind: 'node' as const, node: `trickle-${i % 50}`, at: t + i, timeslice: 1, cpu: 1, mem: 1 }];
      const result = await appender.append(`trickle-${i}`, [{ parts: [{ partition: 0, lines: encodeSamples(samples) }], samples: 1 }]);
      expect(result.kind).toBe('appended');
      await new Promise((resolve) => setTimeout(resolve, TRICKLE_MS));
    }
    await waitUntil(async () => (await fleetTotals(redis, env.KEY_PREFIX!, 1)).samples === ENTRIES, 20_000, 20);
    const counts = await commandCounts(redis);
    // Every apply acknowledges its entries with one XACK, in its transaction.
    const applies = counts.xack ?? 0;
    const reads = counts.xreadgroup ?? 0;
    console.log(`${ENTRIES} entries, one every ${TRICKLE_MS} ms or more: ${applies} applies, ${reads} reads`);
    expect(ENTRIES / applies).toBeGreaterThanOrEqual(4);
    // One read per apply, and a few more (the reads that found the stream idle).
    expect(reads).toBeLessThanOrEqual(applies * 1.25 + 5);
  }, 60_000);
});

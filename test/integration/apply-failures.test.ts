/**
 * Every error class goes through isolate-then-dead-letter, except Redis being unavailable:
 * an entry whose apply throws a JavaScript error is isolated from its batch and
 * dead-lettered after DEAD_LETTER_AFTER_DELIVERIES attempts while the rest is applied; an
 * entry that meets connection failures is retried with back-off and applied, never
 * dead-lettered. The faults are injected into a real store on a real Redis.
 */
import { encodeSamples, ENTRY_FIELD } from '../../shared/store/entry-codec';
import { DeadLetterQueue } from '../../shared/dead-letter-queue';
import { partitionKeys, type PartitionKeys } from '../../shared/store/keys';
import type { RedisClient } from '../../shared/redis';
import type { NodeSample } from '../../shared/samples';
import { ensureGroup } from '../../shared/store/stream-groups';
import { AggregateStore, type ApplyOutcome, type DecodedEntry } from '../../shared/store/batch-apply';
import { createWorkerMetrics } from '../../worker/metrics';
import { StreamConsumer } from '../../worker/stream-consumer';
import { fleetTotals } from '../support/aggregate-totals';
import { waitForDrained } from '../support/stream-drain';
import { baseTime } from '../support/build-sample';
import { deletePrefix, quietLogger, testConfig, testRedis } from '../support/test-config';
import { waitUntil } from '../support/wait-until';

/** A store whose apply fails for marked entries: a bug (TypeError) or a lost connection. */
class FaultyStore extends AggregateStore {
  bugAttempts = 0;
  connectionFailures = 0;
  /** Fails every apply of the "cursed" entry, as an owner with a broken path to Redis would. */
  cursed = false;

  override async applyBatch(keys: PartitionKeys, entries: readonly DecodedEntry[], onProgress?: () => void): Promise<ApplyOutcome> {
    const nodes = new Set(entries.flatMap((e) => e.samples.map((s) => s.node)));
    if (nodes.has('js-bug')) {
      this.bugAttempts += entries.length === 1 ? 1 : 0;
      throw new TypeError("Cannot read properties of undefined (reading 'cpu')");
    }
    if (nodes.has('cursed') && this.cursed) throw new Error('Connection is closed.');
    if (nodes.has('flaky') && this.connectionFailures < 4) {
      this.connectionFailures += 1;
      throw new Error('Connection is closed.');
    }
    return super.applyBatch(keys, entries, onProgress);
  }
}

describe('apply failures by class', () => {
  const config = testConfig({ STREAM_PARTITIONS: '1', DEAD_LETTER_AFTER_DELIVERIES: '3', WORKER_BATCH_SIZE: '50' });
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

  test('a JavaScript error dead-letters only its entry; connection failures are retried, never dead-lettered', async () => {
    const t = baseTime();
    let goodSamples = 0;
    const ids: Record<string, string> = {};
    const append = async (node: string, count: number) => {
      const samples: NodeSample[] = Array.from({ length: count }, (_, i) => ({
        kind: 'node',
        node,
        at: t - i * 1000,
        timeslice: 1,
        cpu: 10,
        mem: 10,
      }));
      ids[node] = (await redis.xadd(keys.stream, '*', ENTRY_FIELD, encodeSamples(samples)))!;
    };
    for (let i = 0; i < 20; i++) {
      if (i === 7) await append('js-bug', 3);
      if (i === 13) await append('flaky', 5);
      await append(`good-${i}`, 4);
      goodSamples += 4;
    }
    const store = new FaultyStore(redis, config.consumerGroup, 'faulty');
    const metrics = createWorkerMetrics();
    const consumer = new StreamConsumer(keys, {
      config: { ...config, workerConsumerName: 'faulty' },
      redis,
      reader,
      store,
      deadLetters,
      metrics,
      logger: quietLogger,
    });
    consumer.start();
    try {
      await waitForDrained(redis, config.keyPrefix, 1, config.consumerGroup, 30_000);
    } finally {
      await consumer.stop();
    }
    const letters = await deadLetters.list(10);
    expect(letters.map((l) => l.entry_id)).toEqual([ids['js-bug']]);
    expect(letters[0]!.reason).toMatch(/Cannot read properties/);
    expect(store.bugAttempts).toBe(3);
    expect(store.connectionFailures).toBe(4);
    // Every good entry and the flaky one counted once; nothing of the failed entry.
    expect((await fleetTotals(redis, config.keyPrefix, 1)).samples).toBe(goodSamples + 5);
  });

  test('an owner that keeps failing on its pending entries lets them go idle, and another consumer takes them over', async () => {
    const claimConfig = { ...config, workerClaimIdleMs: 500, workerClaimIntervalMs: 100 };
    const t = baseTime();
    const samples: NodeSample[] = Array.from({ length: 6 }, (_, i) => ({
      kind: 'node',
      node: 'cursed',
      at: t - i * 1000,
      timeslice: 1,
      cpu: 20,
      mem: 20,
    }));
    const before = (await fleetTotals(redis, config.keyPrefix, 1)).samples;
    await redis.xadd(keys.stream, '*', ENTRY_FIELD, encodeSamples(samples));
    const ownerStore = new FaultyStore(redis, config.consumerGroup, 'owner');
    ownerStore.cursed = true;
    const consumerOf = (name: string, store: AggregateStore, reader: RedisClient) =>
      new StreamConsumer(keys, {
        config: { ...claimConfig, workerConsumerName: name },
        redis,
        reader,
        store,
        deadLetters,
        metrics: createWorkerMetrics(),
        logger: quietLogger,
      });
    const owner = consumerOf('owner', ownerStore, reader);
    owner.start();
    // The owner reads the entry and fails on it, again and again.
    await waitUntil(
      async () => ((await redis.xpending(keys.stream, config.consumerGroup, '-', '+', 1, 'owner')) as unknown[]).length === 1,
    );
    const otherReader = testRedis(config);
    await otherReader.connect();
    const helper = consumerOf('helper', new AggregateStore(redis, config.consumerGroup, 'helper'), otherReader);
    helper.start();
    try {
      await waitForDrained(redis, config.keyPrefix, 1, config.consumerGroup, 20_000);
    } finally {
      await Promise.all([owner.stop(), helper.stop()]);
      await otherReader.quit();
    }
    expect((await fleetTotals(redis, config.keyPrefix, 1)).samples).toBe(before + 6);
    expect((await deadLetters.list(10)).map((l) => l.reason).filter((r) => /Connection/.test(r))).toEqual([]);
  });
});

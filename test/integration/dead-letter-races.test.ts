/**
 * A dead letter races the entry's apply: another consumer may apply the entry after the
 * owner found it pending, or after the owner added the letter and crashed before its
 * acknowledgement. Replaying such a letter would count the entry twice, so replay must
 * only ever append entries whose dead-lettering acknowledged them. Real consumers, a real
 * store and a real dead-letter queue on a real Redis; only the owner's faults are injected.
 */
import { Queue } from 'bullmq';
import { encodeSamples, ENTRY_FIELD } from '../../shared/store/entry-codec';
import { DeadLetterQueue, type DeadLetter } from '../../shared/dead-letter-queue';
import { acknowledgeDeadLetter } from '../../shared/store/dead-letter-entries';
import { globalKeys, partitionKeys, type PartitionKeys } from '../../shared/store/keys';
import { bullConnection, type RedisClient } from '../../shared/redis';
import type { NodeSample } from '../../shared/samples';
import { ensureGroup } from '../../shared/store/stream-groups';
import { AggregateStore, type ApplyOutcome, type DecodedEntry } from '../../shared/store/batch-apply';
import { decodeEntry } from '../../shared/store/entry-codec';
import { createWorkerMetrics } from '../../worker/metrics';
import { StreamConsumer } from '../../worker/stream-consumer';
import { fleetTotals } from '../support/aggregate-totals';
import { waitForDrained } from '../support/stream-drain';
import { baseTime } from '../support/build-sample';
import { deletePrefix, quietLogger, testConfig, testRedis } from '../support/test-config';
import { waitUntil } from '../support/wait-until';

/** An owner whose apply of the "doomed" node's samples always fails (a bug in its build). */
class BrokenStore extends AggregateStore {
  override async applyBatch(keys: PartitionKeys, entries: readonly DecodedEntry[], onProgress?: () => void): Promise<ApplyOutcome> {
    if (entries.some((e) => e.samples.some((s) => s.node === 'doomed'))) {
      throw new TypeError("Cannot read properties of undefined (reading 'cpu')");
    }
    return super.applyBatch(keys, entries, onProgress);
  }
}

describe('dead letters racing the apply', () => {
  const config = testConfig({ STREAM_PARTITIONS: '1', DEAD_LETTER_AFTER_DELIVERIES: '1' });
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
  afterEach(async () => {
    await deadLetters.purge();
  });

  const doomedSamples = (count: number): NodeSample[] =>
    Array.from({ length: count }, (_, i) => ({ kind: 'node', node: 'doomed', at: baseTime() - i * 1000, timeslice: 1, cpu: 30, mem: 30 }));

  function consumer(name: string, store: AggregateStore, letters: DeadLetterQueue, connection: RedisClient, claim = false) {
    return new StreamConsumer(keys, {
      config: { ...config, workerConsumerName: name, ...(claim ? { workerClaimIdleMs: 200, workerClaimIntervalMs: 50 } : {}) },
      redis,
      reader: connection,
      store,
      deadLetters: letters,
      metrics: createWorkerMetrics(),
      logger: quietLogger,
    });
  }

  async function replayAllAndDrain(): Promise<Awaited<ReturnType<DeadLetterQueue['replay']>>> {
    const replayed = await deadLetters.replay();
    // Whatever the replay appended is applied by a healthy consumer before the count.
    const healthy = consumer('after-replay', new AggregateStore(redis, config.consumerGroup, 'after-replay'), deadLetters, reader);
    healthy.start();
    try {
      await waitForDrained(redis, config.keyPrefix, 1, config.consumerGroup, 20_000);
    } finally {
      await healthy.stop();
    }
    return replayed;
  }

  test('an entry another consumer applies while its owner dead-letters it is never replayed', async () => {
    const before = (await fleetTotals(redis, config.keyPrefix, 1)).samples;
    const id = (await redis.xadd(keys.stream, '*', ENTRY_FIELD, encodeSamples(doomedSamples(4))))!;
    // Between the owner's pending check and its letter, another consumer applies the entry.
    class RacedLetters extends DeadLetterQueue {
      override async add(letter: DeadLetter): Promise<void> {
        const fields = (await redis.xrange(keys.stream, id, id))[0]![1];
        await new AggregateStore(redis, config.consumerGroup, 'other').applyBatch(keys, [{ id, samples: decodeEntry(fields) }]);
        await super.add(letter);
      }
    }
    const raced = new RacedLetters(config, redis);
    const owner = consumer('owner', new BrokenStore(redis, config.consumerGroup, 'owner'), raced, reader);
    owner.start();
    try {
      await waitForDrained(redis, config.keyPrefix, 1, config.consumerGroup, 20_000);
    } finally {
      await owner.stop();
      await raced.close();
    }
    expect((await fleetTotals(redis, config.keyPrefix, 1)).samples).toBe(before + 4);
    // The owner found the entry applied when it acknowledged, and took its letter back.
    expect(await deadLetters.count()).toBe(0);
    expect(await replayAllAndDrain()).toEqual({ replayed: 0, already_applied: 0, still_pending: 0 });
    expect((await fleetTotals(redis, config.keyPrefix, 1)).samples).toBe(before + 4);
  });

  test('an owner that crashes between its letter and the acknowledgement: the entry applied elsewhere is never replayed', async () => {
    const before = (await fleetTotals(redis, config.keyPrefix, 1)).samples;
    await redis.xadd(keys.stream, '*', ENTRY_FIELD, encodeSamples(doomedSamples(3)));
    // The owner's process dies right after the letter is stored: its acknowledgement never runs.
    class CrashingLetters extends DeadLetterQueue {
      override async add(letter: DeadLetter): Promise<void> {
        await super.add(letter);
        throw new Error('Connection is closed.');
      }
    }
    const crashing = new CrashingLetters(config, redis);
    const owner = consumer('owner', new BrokenStore(redis, config.consumerGroup, 'owner'), crashing, reader);
    owner.start();
    await waitUntil(async () => (await deadLetters.count()) === 1, 20_000);
    await owner.stop();
    await crashing.close();
    // While the entry is pending nobody knows yet whether it will be applied: replay keeps the letter.
    expect(await deadLetters.replay()).toEqual({ replayed: 0, already_applied: 0, still_pending: 1 });
    expect(await deadLetters.count()).toBe(1);

    // A healthy worker (the fixed build) takes the idle entry over and applies it.
    const otherReader = testRedis(config);
    await otherReader.connect();
    const other = consumer('other', new AggregateStore(redis, config.consumerGroup, 'other'), deadLetters, otherReader, true);
    other.start();
    try {
      await waitForDrained(redis, config.keyPrefix, 1, config.consumerGroup, 20_000);
    } finally {
      await other.stop();
      await otherReader.quit();
    }
    expect((await fleetTotals(redis, config.keyPrefix, 1)).samples).toBe(before + 3);
    // The letter outlived the crash; replay finds the entry applied and drops it.
    expect(await deadLetters.count()).toBe(1);
    expect(await replayAllAndDrain()).toEqual({ replayed: 0, already_applied: 1, still_pending: 0 });
    expect(await deadLetters.count()).toBe(0);
    expect((await fleetTotals(redis, config.keyPrefix, 1)).samples).toBe(before + 3);
  });

  test('a letter its owner acknowledged is replayed once, and purging one unmarks its entry', async () => {
    const before = (await fleetTotals(redis, config.keyPrefix, 1)).samples;
    const first = (await redis.xadd(keys.stream, '*', ENTRY_FIELD, encodeSamples(doomedSamples(2))))!;
    const owner = consumer('owner', new BrokenStore(redis, config.consumerGroup, 'owner'), deadLetters, reader);
    owner.start();
    try {
      await waitForDrained(redis, config.keyPrefix, 1, config.consumerGroup, 20_000);
    } finally {
      await owner.stop();
    }
    expect(await redis.exists(keys.deadLettered(first))).toBe(1);
    const [letter] = await deadLetters.list(10);
    expect(letter).toMatchObject({ entry_id: first, marked_on_ack: true });
    // The fix: a healthy build applies the replayed entry.
    expect(await replayAllAndDrain()).toEqual({ replayed: 1, already_applied: 0, still_pending: 0 });
    expect(await redis.exists(keys.deadLettered(first))).toBe(0);
    expect((await fleetTotals(redis, config.keyPrefix, 1)).samples).toBe(before + 2);

    const second = (await redis.xadd(keys.stream, '*', ENTRY_FIELD, encodeSamples(doomedSamples(2))))!;
    const again = consumer('owner', new BrokenStore(redis, config.consumerGroup, 'owner'), deadLetters, reader);
    again.start();
    try {
      await waitForDrained(redis, config.keyPrefix, 1, config.consumerGroup, 20_000);
    } finally {
      await again.stop();
    }
    expect(await redis.exists(keys.deadLettered(second))).toBe(1);
    expect(await deadLetters.purge()).toBe(1);
    expect(await redis.exists(keys.deadLettered(second))).toBe(0);
    expect((await fleetTotals(redis, config.keyPrefix, 1)).samples).toBe(before + 2);
  });

  test('acknowledging a dead letter: only a pending entry is marked, the meta hash changes with it', async () => {
    const id = (await redis.xadd(keys.stream, '*', ENTRY_FIELD, encodeSamples(doomedSamples(1))))!;
    await redis.xreadgroup('GROUP', config.consumerGroup, 'owner', 'COUNT', 10, 'STREAMS', keys.stream, '>');
    const metaBefore = await redis.hget(keys.meta, 'last_unapplied_ack_ms');
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(await acknowledgeDeadLetter(redis, keys, config.consumerGroup, id)).toBe('acknowledged');
    expect(await redis.hget(keys.meta, 'last_unapplied_ack_ms')).not.toBe(metaBefore);
    expect(await acknowledgeDeadLetter(redis, keys, config.consumerGroup, id)).toBe('acknowledged-before');
    await redis.del(keys.deadLettered(id));

    const applied = (await redis.xadd(keys.stream, '*', ENTRY_FIELD, encodeSamples(doomedSamples(1))))!;
    await redis.xreadgroup('GROUP', config.consumerGroup, 'owner', 'COUNT', 10, 'STREAMS', keys.stream, '>');
    await redis.xack(keys.stream, config.consumerGroup, applied); // as an apply acknowledges
    expect(await acknowledgeDeadLetter(redis, keys, config.consumerGroup, applied)).toBe('applied');
    expect(await redis.exists(keys.deadLettered(applied))).toBe(0);
  });

  test('a letter written before entries were marked is replayed as it was then', async () => {
    // A letter as an earlier build left it: its entry acknowledged, no mark, no marked_on_ack.
    const id = (await redis.xadd(keys.stream, '*', ENTRY_FIELD, encodeSamples(doomedSamples(5))))!;
    await redis.xreadgroup('GROUP', config.consumerGroup, 'old', 'COUNT', 10, 'STREAMS', keys.stream, '>');
    const fields = (await redis.xrange(keys.stream, id, id))[0]![1];
    await redis.xack(keys.stream, config.consumerGroup, id);
    const bull = bullConnection(config);
    const earlier = new Queue<DeadLetter>('dead-letters', { connection: bull.connection, prefix: globalKeys(config.keyPrefix).bullPrefix });
    try {
      const letter: DeadLetter = {
        partition: 0,
        entry_id: id,
        fields,
        reason: 'an earlier build',
        deliveries: 1,
        failed_at: new Date().toISOString(),
      };
      await earlier.add('dead-letter', letter, { jobId: `0-${id}` });
    } finally {
      await earlier.close();
      await bull.close();
    }
    const before = (await fleetTotals(redis, config.keyPrefix, 1)).samples;
    expect(await replayAllAndDrain()).toEqual({ replayed: 1, already_applied: 0, still_pending: 0 });
    expect((await fleetTotals(redis, config.keyPrefix, 1)).samples).toBe(before + 5);
  });
});

/**
 * A dead letter races the entry's apply: another consumer may apply the entry after the
 * owner found it pending, or after the owner added the letter and crashed before its
 * acknowledgement. Replaying such a letter would count the entry twice, so replay must
 * only ever append entries whose dead-lettering acknowledged them. Real consumers, a real
 * store and a real dead-letter queue on a real Redis; only the owner's faults are injected.
 */
import { Queue } from 'bullmq';
import { decodeEntry, encodeSamples, ENTRY_FIELD } from '../../shared/store/entry-codec';
import { DeadLetterQueue, type DeadLetter } from '../../shared/dead-letter-queue';
import { acknowledgeDeadLetter } from '../../shared/store/dead-letter-entries';
import { globalKeys, type PartitionKeys } from '../../shared/store/keys';
import { bullConnection, type RedisClient } from '../../shared/redis';
import type { NodeSample } from '../../shared/samples';
import { AggregateStore, type ApplyOutcome, type DecodedEntry } from '../../shared/store/batch-apply';
import { fleetTotals } from '../support/aggregate-totals';
import { baseTime } from '../support/build-sample';
import { onePartitionConsumers } from '../support/one-partition-consumer';
import { testRedis } from '../support/test-config';
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
  const partition = onePartitionConsumers({ DEAD_LETTER_AFTER_DELIVERIES: '1' });
  const { config, keys } = partition;
  let redis: RedisClient;
  let deadLetters: DeadLetterQueue;
  beforeAll(() => {
    redis = partition.redis();
    deadLetters = partition.deadLetters();
  });
  afterEach(async () => {
    await deadLetters.purge();
  });

  const brokenStore = () => new BrokenStore(redis, config.consumerGroup, 'owner');
  const doomedSamples = (count: number): NodeSample[] =>
    Array.from({ length: count }, (_, i) => ({ kind: 'node', node: 'doomed', at: baseTime() - i * 1000, timeslice: 1, cpu: 30, mem: 30 }));

  async function replayAllAndDrain(): Promise<Awaited<ReturnType<DeadLetterQueue['replay']>>> {
    const replayed = await deadLetters.replay();
    // Whatever the replay appended is applied by a healthy consumer before the count.
    await partition.runUntilDrained(partition.consumer('after-replay', new AggregateStore(redis, config.consumerGroup, 'after-replay')));
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
    try {
      await partition.runUntilDrained(partition.consumer('owner', brokenStore(), { deadLetters: raced }));
    } finally {
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
    const owner = partition.consumer('owner', brokenStore(), { deadLetters: crashing });
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
    const claiming = { workerClaimIdleMs: 200, workerClaimIntervalMs: 50 };
    try {
      await partition.runUntilDrained(
        partition.consumer('other', new AggregateStore(redis, config.consumerGroup, 'other'), { reader: otherReader, config: claiming }),
      );
    } finally {
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
    await partition.runUntilDrained(partition.consumer('owner', brokenStore()));
    expect(await redis.exists(keys.deadLettered(first))).toBe(1);
    const [letter] = await deadLetters.list(10);
    expect(letter).toMatchObject({ entry_id: first, marked_on_ack: true });
    // The fix: a healthy build applies the replayed entry.
    expect(await replayAllAndDrain()).toEqual({ replayed: 1, already_applied: 0, still_pending: 0 });
    expect(await redis.exists(keys.deadLettered(first))).toBe(0);
    expect((await fleetTotals(redis, config.keyPrefix, 1)).samples).toBe(before + 2);

    const second = (await redis.xadd(keys.stream, '*', ENTRY_FIELD, encodeSamples(doomedSamples(2))))!;
    await partition.runUntilDrained(partition.consumer('owner', brokenStore()));
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

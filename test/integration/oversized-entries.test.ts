/**
 * An entry too large for one bounded script call is applied in parts. Parts are exactly
 * once: a consumer that loses its connection between parts, and consumers racing over the
 * same entry, never count a part twice; the last part acknowledges and clears the markers.
 */
import { encodeSamples, ENTRY_FIELD } from '../../shared/store/entry-codec';
import { fineBucketOf, fineChunkOf, partitionKeys } from '../../shared/store/keys';
import type { RedisClient } from '../../shared/redis';
import type { ProcessSample } from '../../shared/samples';
import { ensureGroup } from '../../shared/store/stream-groups';
import { AggregateStore, type DecodedEntry } from '../../shared/store/batch-apply';
import { baseTime } from '../support/build-sample';
import { SentLedger } from '../support/sent-ledger';
import { deletePrefix, testConfig, testRedis } from '../support/test-config';

/** A small bound, so a few hundred samples take many parts. */
const MAX_ARGS = 400;

describe('oversized entries applied in parts', () => {
  const config = testConfig({ STREAM_PARTITIONS: '1' });
  const keys = partitionKeys(config.keyPrefix, 0, config.streamPartitions);
  let redis: RedisClient;
  const clients: RedisClient[] = [];

  async function client(): Promise<RedisClient> {
    const c = testRedis(config);
    await c.connect();
    clients.push(c);
    return c;
  }

  beforeAll(async () => {
    redis = await client();
    await ensureGroup(redis, keys.stream, config.consumerGroup);
  });
  afterAll(async () => {
    await deletePrefix(redis, config.keyPrefix);
    clients.forEach((c) => c.disconnect());
  });

  /** Appends one entry of `count` samples of distinct processes, delivered to consumer "a". */
  async function appendLargeEntry(ledger: SentLedger, tag: string, count: number): Promise<DecodedEntry> {
    const t = baseTime();
    const samples: ProcessSample[] = Array.from({ length: count }, (_, i) => ({
      kind: 'process',
      node: 'wide',
      process: `${tag}-${i}`,
      at: t - (i % 5) * 1000,
      timeslice: 2,
      cpu_used: i % 100,
      mem_used: i,
    }));
    samples.forEach((s) => ledger.process(s));
    const id = (await redis.xadd(keys.stream, '*', ENTRY_FIELD, encodeSamples(samples)))!;
    await redis.xreadgroup('GROUP', config.consumerGroup, 'a', 'COUNT', 1, 'STREAMS', keys.stream, '>');
    return { id, samples };
  }

  async function pendingCount(): Promise<number> {
    const summary = (await redis.xpending(keys.stream, config.consumerGroup)) as [number, ...unknown[]];
    return Number(summary[0]);
  }

  test('a consumer that loses its connection between parts is finished by another, each part once', async () => {
    const ledger = new SentLedger(config.keyPrefix, 1);
    const entry = await appendLargeEntry(ledger, 'cut', 300);
    const doomed = await client();
    const a = new AggregateStore(doomed, config.consumerGroup, 'a', Date.now, MAX_ARGS);
    let parts = 0;
    await expect(
      a.applyBatch(keys, [entry], () => {
        if (++parts === 3) doomed.disconnect();
      }),
    ).rejects.toThrow();
    expect(parts).toBe(3);
    expect(await redis.hlen(keys.entryParts(entry.id))).toBe(3);
    expect(await pendingCount()).toBe(1);

    const b = new AggregateStore(await client(), config.consumerGroup, 'b', Date.now, MAX_ARGS);
    expect(await b.applyBatch(keys, [entry])).toEqual({ applied: 1, skipped: 0, samples: 300 });
    expect(await ledger.mismatches(redis)).toEqual([]);
    expect(await redis.exists(keys.entryParts(entry.id))).toBe(0);
    expect(await pendingCount()).toBe(0);
    // A late redelivery changes nothing.
    expect(await b.applyBatch(keys, [entry])).toEqual({ applied: 0, skipped: 1, samples: 0 });
    expect(await ledger.mismatches(redis)).toEqual([]);
  });

  test('three consumers racing over the same oversized entries count each sample once', async () => {
    const ledger = new SentLedger(config.keyPrefix, 1);
    const stores = await Promise.all(
      ['a', 'b', 'c'].map(async (name) => new AggregateStore(await client(), config.consumerGroup, name, Date.now, MAX_ARGS)),
    );
    for (let round = 0; round < 5; round++) {
      const entry = await appendLargeEntry(ledger, `race${round}`, 200);
      const outcomes = await Promise.all(stores.map((s) => s.applyBatch(keys, [entry])));
      // Exactly one consumer applied the last part and acknowledged the entry.
      expect(outcomes.reduce((n, o) => n + o.applied, 0)).toBe(1);
      expect(outcomes.reduce((n, o) => n + o.skipped, 0)).toBe(2);
    }
    expect(await ledger.mismatches(redis)).toEqual([]);
    expect(await pendingCount()).toBe(0);
  });

  test('a key of the wrong type in a later part stops the entry before its first part is applied', async () => {
    const ledger = new SentLedger(config.keyPrefix, 1);
    const entry = await appendLargeEntry(ledger, 'typed', 300);
    const last = entry.samples[entry.samples.length - 1]!;
    const first = entry.samples[0]!;
    const fineKey = (s: ProcessSample) => keys.processFine(fineChunkOf(fineBucketOf(s.at)), s.process);
    await redis.set(fineKey(last as ProcessSample), 'not a hash');
    const a = new AggregateStore(redis, config.consumerGroup, 'a', Date.now, MAX_ARGS);
    await expect(a.applyBatch(keys, [entry])).rejects.toThrow(/WRONGTYPE/);
    expect(await redis.exists(keys.entryParts(entry.id))).toBe(0);
    expect(await redis.exists(fineKey(first as ProcessSample))).toBe(0);
    await redis.del(fineKey(last as ProcessSample));
    expect(await a.applyBatch(keys, [entry])).toEqual({ applied: 1, skipped: 0, samples: 300 });
    expect(await ledger.mismatches(redis)).toEqual([]);
  });
});

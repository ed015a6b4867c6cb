/** Two consumers applying the same pending entries at once: each entry counts once. */
import { encodeSamples, ENTRY_FIELD } from '../../shared/store/entry-codec';
import { partitionKeys } from '../../shared/store/keys';
import type { RedisClient } from '../../shared/redis';
import type { NodeSample } from '../../shared/samples';
import { ensureGroup } from '../../shared/store/stream-groups';
import { AggregateStore, type DecodedEntry } from '../../shared/store/batch-apply';
import { fleetTotals } from '../support/aggregate-totals';
import { baseTime } from '../support/build-sample';
import { deletePrefix, testConfig, testRedis } from '../support/test-config';

describe('two consumers racing for the same pending entries', () => {
  const config = testConfig({ STREAM_PARTITIONS: '1' });
  const keys = partitionKeys(config.keyPrefix, 0, config.streamPartitions);
  let redis: RedisClient;
  let other: RedisClient;

  beforeAll(async () => {
    redis = testRedis(config);
    other = testRedis(config);
    await Promise.all([redis.connect(), other.connect()]);
    await ensureGroup(redis, keys.stream, config.consumerGroup);
  });
  afterAll(async () => {
    await deletePrefix(redis, config.keyPrefix);
    await Promise.all([redis.quit(), other.quit()]);
  });

  async function appendEntries(count: number, samplesEach: number): Promise<DecodedEntry[]> {
    const entries: DecodedEntry[] = [];
    const t = baseTime();
    for (let e = 0; e < count; e++) {
      const samples: NodeSample[] = Array.from({ length: samplesEach }, (_, i) => ({
        kind: 'node',
        node: `n${i % 5}`,
        at: t - ((e * samplesEach + i) % 600) * 1000,
        timeslice: 5,
        cpu: (e + i) % 100,
        mem: 50,
      }));
      const id = (await redis.xadd(keys.stream, '*', ENTRY_FIELD, encodeSamples(samples)))!;
      entries.push({ id, samples });
    }
    // Delivered to consumer "a", which then stalls: "b" takes over while "a" resumes.
    await redis.xreadgroup('GROUP', config.consumerGroup, 'a', 'COUNT', count, 'STREAMS', keys.stream, '>');
    return entries;
  }

  test('overlapping batches applied concurrently count every entry exactly once', async () => {
    const a = new AggregateStore(redis, config.consumerGroup, 'a');
    const b = new AggregateStore(other, config.consumerGroup, 'b');
    let expected = 0;
    let applied = 0;
    let skipped = 0;
    for (let round = 0; round < 20; round++) {
      const entries = await appendEntries(30, 10);
      expected += 30 * 10;
      // a takes the first two thirds, b the last two thirds: the middle third is contested.
      const results = await Promise.all([
        a.applyBatch(keys, entries.slice(0, 20)),
        b.applyBatch(keys, entries.slice(10)),
        a.applyBatch(keys, entries.slice(5, 25)),
      ]);
      for (const r of results) {
        applied += r.applied;
        skipped += r.skipped;
      }
    }
    const totals = await fleetTotals(redis, config.keyPrefix, 1);
    expect(totals.samples).toBe(expected);
    expect(applied).toBe(20 * 30);
    expect(skipped).toBeGreaterThan(0);
    const pending = (await redis.xpending(keys.stream, config.consumerGroup)) as [number, ...unknown[]];
    expect(pending[0]).toBe(0);
  });

  test('disjoint batches applied at once merge into the same buckets without losing an update', async () => {
    const before = await fleetTotals(redis, config.keyPrefix, 1);
    const a = new AggregateStore(redis, config.consumerGroup, 'a');
    const b = new AggregateStore(other, config.consumerGroup, 'b');
    for (let round = 0; round < 20; round++) {
      const entries = await appendEntries(30, 10);
      // Every batch reads and writes the same fleet and node buckets; none of their entries overlap.
      const results = await Promise.all([
        a.applyBatch(keys, entries.slice(0, 10)),
        b.applyBatch(keys, entries.slice(10, 20)),
        a.applyBatch(keys, entries.slice(20)),
      ]);
      expect(results.map((r) => r.applied)).toEqual([10, 10, 10]);
    }
    const after = await fleetTotals(redis, config.keyPrefix, 1);
    expect(after.samples - before.samples).toBe(20 * 30 * 10);
    // On one Redis the applies are transactions: some found a watched key changed and read again.
    expect(a.transactionRetries + b.transactionRetries).toBeGreaterThan(0);
  });

  test('a batch whose entries were all applied elsewhere changes nothing', async () => {
    const entries = await appendEntries(5, 4);
    const before = await fleetTotals(redis, config.keyPrefix, 1);
    const a = new AggregateStore(redis, config.consumerGroup, 'a');
    expect((await a.applyBatch(keys, entries)).applied).toBe(5);
    const again = await a.applyBatch(keys, entries);
    expect(again).toEqual({ applied: 0, skipped: 5, samples: 0 });
    const after = await fleetTotals(redis, config.keyPrefix, 1);
    expect(after.samples - before.samples).toBe(20);
  });
});

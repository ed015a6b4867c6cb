/**
 * A key the apply only writes (a sorted set of latest times, the bookkeeping hash) that holds
 * another type, or a stored bucket or summary of another form, fails the whole apply before
 * it writes anything, naming the key; the entry stays pending, and applies once the key is
 * fixed. Both ways the store applies (a transaction on one Redis, the script on a cluster).
 */
import { MAX_SCRIPT_ARGS } from '../../shared/store/apply-plan';
import { AggregateStore, type ApplyMethod } from '../../shared/store/batch-apply';
import { fineBucketOf, fineChunkOf, nodeSecondField, nodeSecondsChunkOf } from '../../shared/store/keys';
import type { RedisClient } from '../../shared/redis';
import type { Sample } from '../../shared/samples';
import { baseTime } from '../support/build-sample';
import { onePartitionStore } from '../support/one-partition-store';

describe('apply key types', () => {
  const partition = onePartitionStore();
  const { config, keys } = partition;
  let redis: RedisClient;
  beforeAll(() => (redis = partition.redis()));

  test.each([
    ['the node list, a sorted set', () => keys.nodes, 'zset'],
    ["the fleet's latest time, a sorted set", () => keys.fleetLatest, 'zset'],
    ['the bookkeeping hash', () => keys.meta, 'hash'],
  ])('%s holding a string fails the apply before any write; fixed, the entry applies once', async (_, keyOf, expected) => {
    const t = baseTime();
    const samples: Sample[] = [
      { kind: 'node', node: 'typed-1', at: t, timeslice: 1, cpu: 10, mem: 20 },
      { kind: 'process', node: 'typed-1', process: 'nginx', at: t, timeslice: 1, cpu_used: 1, mem_used: 2 },
    ];
    const key = keyOf();
    await redis.set(key, 'not a ' + expected);
    const store = new AggregateStore(redis, config.consumerGroup, 'typed');
    const id = await partition.deliver('typed', samples);

    await expect(store.applyBatch(keys, [{ id, samples }])).rejects.toThrow(
      new RegExp(`^WRONGTYPE (apply-batch: )?${key} is a string, expected a ${expected}$`),
    );
    const fleet = keys.fleetFine(fineChunkOf(fineBucketOf(t)));
    expect(await redis.exists(fleet, keys.nodeSummaries, keys.processes)).toBe(0);
    expect(await redis.xpending(keys.stream, config.consumerGroup)).toEqual([1, id, id, [['typed', '1']]]);

    await redis.del(key);
    expect(await store.applyBatch(keys, [{ id, samples }])).toEqual({ applied: 1, skipped: 0, samples: 2 });
    expect(await redis.exists(fleet, keys.nodeSummaries, keys.processes)).toBe(3);
    await partition.reset();
  });

  describe.each<ApplyMethod>(['transaction', 'script'])('applied by %s', (method) => {
    test.each([
      [
        'a node second holding a bucket of 2 bytes',
        'xx',
        (t: number) => [keys.nodeSeconds(nodeSecondsChunkOf(fineBucketOf(t))), nodeSecondField(fineBucketOf(t), 'formed-1')],
      ],
      ['a node summary of 3 bytes', 'abc', () => [keys.nodeSummaries, 'formed-1']],
    ])('%s fails the apply before any write; fixed, the entry applies once', async (_, stored, fieldOf) => {
      const t = baseTime();
      const samples: Sample[] = [{ kind: 'node', node: 'formed-1', at: t, timeslice: 1, cpu: 10, mem: 20 }];
      const [key, field] = fieldOf(t) as [string, string];
      await redis.hset(key, field, stored);
      const store = new AggregateStore(redis, config.consumerGroup, 'formed', Date.now, MAX_SCRIPT_ARGS, method);
      const id = await partition.deliver('formed', samples);

      await expect(store.applyBatch(keys, [{ id, samples }])).rejects.toThrow(/bucket (of|has) 2 bytes|summary (of|has) 3 bytes/);
      const fleet = keys.fleetFine(fineChunkOf(fineBucketOf(t)));
      expect(await redis.exists(fleet, keys.nodes)).toBe(0);
      expect(await redis.xpending(keys.stream, config.consumerGroup)).toEqual([1, id, id, [['formed', '1']]]);

      await redis.hdel(key, field);
      expect(await store.applyBatch(keys, [{ id, samples }])).toEqual({ applied: 1, skipped: 0, samples: 1 });
      expect(await redis.exists(fleet, keys.nodes)).toBe(2);
      await partition.reset();
    });
  });
});

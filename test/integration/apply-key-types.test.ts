/**
 * A key the apply only writes (a sorted set of latest times, the bookkeeping hash) that holds
 * another type fails the whole apply before it writes anything, naming the key; the entry
 * stays pending, and applies once the key is fixed.
 */
import { AggregateStore } from '../../shared/store/batch-apply';
import { fineBucketOf, fineChunkOf } from '../../shared/store/keys';
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
});

/**
 * The apply's transaction watches one key, its partition's meta hash, which every atomic step
 * that writes the partition's aggregates writes too. Another apply of the partition between
 * an apply's reads and its EXEC makes it read again: nothing is lost or counted twice. A
 * bucket hash unlinked between the reads and EXEC (the maintenance job ending a minute's
 * retention) is written back with its chunk's expiry, never without one.
 */
import Redis from 'ioredis';
import type { ChainableCommander } from 'ioredis';
import { AggregateStore } from '../../shared/store/batch-apply';
import { fineBucketOf, nodeSecondsChunkExpiry, nodeSecondsChunkOf } from '../../shared/store/keys';
import type { RedisClient } from '../../shared/redis';
import type { Sample } from '../../shared/samples';
import { fleetTotals } from '../support/aggregate-totals';
import { baseTime } from '../support/build-sample';
import { onePartitionStore } from '../support/one-partition-store';

/** Runs `between` once, on the next transaction any connection makes, just before its EXEC is sent. */
function beforeNextExec(between: () => Promise<unknown>): void {
  const multi = Redis.prototype.multi;
  let done = false;
  jest.spyOn(Redis.prototype, 'multi').mockImplementation(function (this: Redis, ...args: unknown[]) {
    const transaction = (multi as (...a: unknown[]) => ChainableCommander).apply(this, args);
    if (done) return transaction;
    done = true;
    const exec = transaction.exec.bind(transaction);
    transaction.exec = async () => {
      await between();
      return exec();
    };
    return transaction;
  });
}

describe("the apply transaction's watch", () => {
  const partition = onePartitionStore();
  const { config, keys } = partition;
  let redis: RedisClient;
  beforeAll(() => (redis = partition.redis()));
  afterEach(async () => {
    jest.restoreAllMocks();
    await partition.reset();
  });

  test('another apply of the partition between the reads and EXEC: the apply reads again, each sample counted once', async () => {
    const t = baseTime();
    const first: Sample[] = [{ kind: 'node', node: 'watch-1', at: t, timeslice: 1, cpu: 10, mem: 20 }];
    const second: Sample[] = [{ kind: 'node', node: 'watch-2', at: t, timeslice: 1, cpu: 30, mem: 40 }];
    const store = new AggregateStore(redis, config.consumerGroup, 'watch-a');
    const other = new AggregateStore(redis, config.consumerGroup, 'watch-b');
    const firstId = await partition.deliver('watch-a', first);
    const secondId = await partition.deliver('watch-b', second);
    // Both samples go into the same fleet bucket: a merge of a stale read would lose one.
    beforeNextExec(() => other.applyBatch(keys, [{ id: secondId, samples: second }]));

    expect(await store.applyBatch(keys, [{ id: firstId, samples: first }])).toEqual({ applied: 1, skipped: 0, samples: 1 });

    expect(store.transactionRetries).toBe(1);
    expect(await fleetTotals(redis, config.keyPrefix, 1)).toEqual({ samples: 2, cpuSeconds: 40, memSeconds: 60 });
    expect(await redis.xpending(keys.stream, config.consumerGroup)).toEqual([0, null, null, null]);
  });

  test('a bucket hash unlinked between the reads and EXEC is written back with its chunk’s expiry', async () => {
    const t = baseTime();
    const chunk = nodeSecondsChunkOf(fineBucketOf(t));
    const minute = keys.nodeSeconds(chunk);
    const store = new AggregateStore(redis, config.consumerGroup, 'watch-c');
    const before: Sample[] = [{ kind: 'node', node: 'gone-1', at: t, timeslice: 1, cpu: 10, mem: 20 }];
    await store.applyBatch(keys, [{ id: await partition.deliver('watch-c', before), samples: before }]);
    const after: Sample[] = [{ kind: 'node', node: 'gone-2', at: t, timeslice: 1, cpu: 30, mem: 40 }];
    const afterId = await partition.deliver('watch-c', after);
    beforeNextExec(() => redis.unlink(minute));

    await store.applyBatch(keys, [{ id: afterId, samples: after }]);

    expect(await redis.call('EXPIRETIME', minute)).toBe(nodeSecondsChunkExpiry(chunk));
  });
});

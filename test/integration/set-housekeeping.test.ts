/**
 * A node's and a process's own sorted sets are tidied (stale members dropped, expiry moved on)
 * once an hour, in their key's minute (shared/store/housekeeping-schedule.ts), yet a set an
 * apply creates always gets its expiry at once: no key is ever left without one.
 */
import { AggregateStore } from '../../shared/store/batch-apply';
import { HousekeepingSchedule } from '../../shared/store/housekeeping-schedule';
import { COARSE_RETENTION_MS } from '../../shared/store/keys';
import type { RedisClient } from '../../shared/redis';
import type { ProcessSample } from '../../shared/samples';
import { baseTime } from '../support/build-sample';
import { onePartitionStore } from '../support/one-partition-store';

describe('tidying the per-node and per-process sorted sets', () => {
  const partition = onePartitionStore();
  const { config, keys } = partition;
  let redis: RedisClient;
  beforeAll(() => (redis = partition.redis()));

  /** The first minute from `fromMs` on (at its 20th second) in which `key` is, or is not, due. */
  const minuteWhere = (key: string, due: boolean, fromMs: number): number => {
    const first = Math.floor(fromMs / 60_000) * 60_000 + 20_000;
    for (let m = 0; m < 120; m++) {
      const at = first + m * 60_000;
      if (new HousekeepingSchedule(at).due(key) === due) return at;
    }
    throw new Error('no such minute');
  };
  const apply = async (now: number, node: string, process: string) => {
    const sample: ProcessSample = { kind: 'process', node, process, at: now, timeslice: 1, cpu_used: 1, mem_used: 1 };
    const store = new AggregateStore(redis, config.consumerGroup, 'housekeeping', () => now);
    const id = await partition.deliver('housekeeping', [sample]);
    expect(await store.applyBatch(keys, [{ id, samples: [sample] }])).toEqual({ applied: 1, skipped: 0, samples: 1 });
  };
  const expiry = async (key: string) => Number(await redis.call('EXPIRETIME', key));

  test('a set created in a minute that is not its own gets its expiry; later applies leave it until its minute, which tidies it', async () => {
    const node = 'tidy-host';
    const set = keys.nodeProcesses(node);
    const created = minuteWhere(set, false, baseTime());
    await apply(created, node, 'nginx');
    expect(await expiry(set)).toBe(new HousekeepingSchedule(created).keepUntil);
    // A process last seen longer ago than the retention, as a set holds it a day later.
    await redis.zadd(set, created - COARSE_RETENTION_MS - 60_000, 'stale');

    const later = minuteWhere(set, false, created + 60_000);
    await apply(later, node, 'postgres');
    expect(await expiry(set)).toBe(new HousekeepingSchedule(created).keepUntil);
    expect(await redis.zscore(set, 'stale')).not.toBeNull();

    const own = minuteWhere(set, true, later);
    await apply(own, node, 'nginx');
    expect(await expiry(set)).toBe(new HousekeepingSchedule(own).keepUntil);
    expect(await redis.zscore(set, 'stale')).toBeNull();
    expect(await redis.zrange(set, 0, -1)).toEqual(['postgres', 'nginx']);
  });

  test('a set emptied and gone is created again with an expiry, in any minute', async () => {
    const node = 'gone-host';
    const set = keys.nodeProcesses(node);
    const first = minuteWhere(set, false, baseTime());
    await apply(first, node, 'nginx');
    await redis.del(set);
    const again = minuteWhere(set, false, first + 60_000);
    await apply(again, node, 'nginx');
    expect(await expiry(set)).toBe(new HousekeepingSchedule(again).keepUntil);
    // The process's own set, created by the first apply, has one too.
    expect(await expiry(keys.processNodes('nginx'))).toBeGreaterThan(0);
  });
});

/** A consumer group as Redis reports it, read once for every caller (shared/store/group-info.ts). */
import { partitionKeys } from '../../shared/store/keys';
import {
  groupConsumers,
  groupInfo,
  parseConsumer,
  parseGroup,
  pendingSummary,
  streamGroups,
  streamInfo,
} from '../../shared/store/group-info';
import { ensureGroup, partitionsWithoutGroup } from '../../shared/store/stream-groups';
import { classifyRedisError } from '../../shared/store/redis-errors';
import type { RedisClient } from '../../shared/redis';
import { deletePrefix, testConfig, testRedis } from '../support/test-config';

describe('group info', () => {
  const config = testConfig();
  const keys = partitionKeys(config.keyPrefix, 0, config.streamPartitions);
  const group = config.consumerGroup;
  let redis: RedisClient;

  beforeAll(async () => {
    redis = testRedis(config);
    await redis.connect();
  });
  afterAll(async () => {
    await deletePrefix(redis, config.keyPrefix);
    await redis.quit();
  });

  test('a missing stream has no groups and no info; the calls that need the group say NOGROUP', async () => {
    expect(await streamGroups(redis, keys.stream)).toEqual([]);
    expect(await groupInfo(redis, keys, group)).toBeNull();
    expect(await streamInfo(redis, keys)).toBeNull();
    expect(await partitionsWithoutGroup(redis, [keys, partitionKeys(config.keyPrefix, 1, config.streamPartitions)], group)).toEqual([0, 1]);
    expect(classifyRedisError(await pendingSummary(redis, keys, group).catch((e: unknown) => e))).toBe('no-group');
  });

  test('lag, pending, last delivered, entries read and consumers of a real group', async () => {
    await ensureGroup(redis, keys.stream, group);
    await ensureGroup(redis, keys.stream, group); // idempotent
    await ensureGroup(redis, keys.stream, 'other');
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await redis.xadd(keys.stream, '*', 'n', String(i)))!);
    await redis.xreadgroup('GROUP', group, 'c1', 'COUNT', 3, 'STREAMS', keys.stream, '>');
    await redis.xack(keys.stream, group, ids[0]!);

    expect(await groupInfo(redis, keys, group)).toEqual({
      name: group,
      consumers: 1,
      pending: 2,
      lastDeliveredId: ids[2],
      entriesRead: 3,
      lag: 2,
    });
    expect((await streamGroups(redis, keys.stream)).map((g) => g.name).sort()).toEqual([group, 'other'].sort());
    expect(await groupInfo(redis, keys, 'missing')).toBeNull();
    expect(await pendingSummary(redis, keys, group)).toEqual({ count: 2, oldestId: ids[1], newestId: ids[2] });
    expect(await pendingSummary(redis, keys, 'other')).toEqual({ count: 0, oldestId: null, newestId: null });
    expect(await streamInfo(redis, keys)).toEqual({ length: 5, lastGeneratedId: ids[4] });
    expect(await partitionsWithoutGroup(redis, [keys], group)).toEqual([]);

    const [consumer, ...others] = await groupConsumers(redis, keys, group);
    expect(others).toEqual([]);
    expect(consumer).toMatchObject({ name: 'c1', pending: 2 });
    expect(consumer!.idleMs).toBeGreaterThanOrEqual(0);
    // Redis 7.2+ reports `inactive`; 7.0 does not.
    expect(consumer!.inactiveMs === null || consumer!.inactiveMs >= 0).toBe(true);
  });
});

test('replies of Redis 7.0 and 7.2 parse alike; unknown lag and never-active consumers are null', () => {
  // Redis 7.0 XINFO GROUPS / CONSUMERS entries.
  expect(parseGroup(['name', 'g', 'consumers', 1, 'pending', 2, 'last-delivered-id', '5-0', 'entries-read', 5, 'lag', 0])).toEqual({
    name: 'g',
    consumers: 1,
    pending: 2,
    lastDeliveredId: '5-0',
    entriesRead: 5,
    lag: 0,
  });
  expect(parseConsumer(['name', 'c', 'pending', 2, 'idle', 1500])).toEqual({ name: 'c', pending: 2, idleMs: 1500, inactiveMs: null });
  // Redis 7.2: lag is nil when Redis cannot tell; `inactive` is -1 for a consumer that never read.
  expect(parseGroup(['name', 'g', 'consumers', 0, 'pending', 0, 'last-delivered-id', '0-0', 'entries-read', null, 'lag', null])).toEqual({
    name: 'g',
    consumers: 0,
    pending: 0,
    lastDeliveredId: '0-0',
    entriesRead: null,
    lag: null,
  });
  expect(parseConsumer(['name', 'c', 'pending', 0, 'idle', 20, 'inactive', -1])).toEqual({
    name: 'c',
    pending: 0,
    idleMs: 20,
    inactiveMs: null,
  });
  expect(parseConsumer(['name', 'c', 'pending', 1, 'idle', 20, 'inactive', 900])).toEqual({
    name: 'c',
    pending: 1,
    idleMs: 20,
    inactiveMs: 900,
  });
  // Before 7.0 there is neither entries-read nor lag.
  expect(parseGroup(['name', 'g', 'consumers', 0, 'pending', 0, 'last-delivered-id', '0-0'])).toMatchObject({
    entriesRead: null,
    lag: null,
  });
});

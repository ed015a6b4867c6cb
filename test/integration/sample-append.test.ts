/**
 * The store's append (shared/store/sample-append.ts over append-samples.lua), driven directly:
 * per-partition Idempotency-Key records, so a retry after a partial failure (one partition
 * written, another not, as on a Redis Cluster) appends only what is missing.
 */
import { randomBytes } from 'node:crypto';
import type { Config } from '../../shared/config';
import type { RedisClient } from '../../shared/redis';
import { allPartitionKeys } from '../../shared/store/keys';
import { SampleAppender, type AppendRequest } from '../../shared/store/sample-append';
import { changePartitionCount } from '../../cli/partition-change';
import { globalKeys } from '../../shared/store/keys';
import { deletePrefix, testConfig, testRedis } from '../support/test-config';

describe('sample append', () => {
  let config: Config;
  let redis: RedisClient;
  let appender: SampleAppender;

  beforeAll(async () => {
    config = testConfig();
    redis = testRedis(config);
    await redis.connect();
    appender = new SampleAppender(redis, config.keyPrefix, config.streamPartitions);
  });
  afterAll(async () => {
    await deletePrefix(redis, config.keyPrefix);
    await redis.quit();
  });

  const partitions = () => allPartitionKeys(config.keyPrefix, config.streamPartitions);
  const keyed = (keyHash: string, fingerprint: string, lines: string[]): AppendRequest => ({
    parts: lines.map((line, partition) => ({ partition, lines: line })),
    samples: lines.length,
    idempotency: { keyHash, fingerprint, ttlSeconds: 60 },
  });
  const groupId = () => randomBytes(6).toString('hex');

  test('a keyed request writes one record per partition, with its time to live', async () => {
    const request = keyed('k-records', 'f1', ['N\ta\t1\t1\t1\t1', 'N\tb\t1\t1\t1\t1']);
    const result = await appender.append(groupId(), [request]);
    expect(result.kind).toBe('appended');
    const [outcome] = (result as { outcomes: { kind: string; ids: string[] }[] }).outcomes;
    for (const [i, p] of partitions().slice(0, 2).entries()) {
      expect(await redis.get(p.idempotency('k-records'))).toBe(`f1 2 ${outcome!.ids[i]}`);
      const ttl = await redis.ttl(p.idempotency('k-records'));
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(60);
    }
  });

  test('a retry after a partial failure appends only the partition that is missing', async () => {
    const request = keyed('k-partial', 'f2', ['N\tc\t1\t1\t1\t1', 'N\td\t1\t1\t1\t1']);
    const first = await appender.append(groupId(), [request]);
    const firstIds = (first as { outcomes: { ids: string[] }[] }).outcomes[0]!.ids;
    // As if partition 1's call had failed: its entry and record are not there.
    const [, p1] = partitions();
    await redis.xdel(p1!.stream, firstIds[1]!);
    await redis.del(p1!.idempotency('k-partial'));
    const lengths = await Promise.all(partitions().map((p) => redis.xlen(p.stream)));

    const retry = await appender.append(groupId(), [request]);
    const outcome = (retry as { outcomes: { kind: string; ids: string[]; accepted: number; replayed: boolean }[] }).outcomes[0]!;
    expect(outcome.kind).toBe('stored');
    expect(outcome.ids[0]).toBe(firstIds[0]);
    expect(outcome.ids[1]).not.toBe(firstIds[1]);
    expect(outcome.replayed).toBe(false);
    expect(outcome.accepted).toBe(2);
    const after = await Promise.all(partitions().map((p) => redis.xlen(p.stream)));
    expect(after).toEqual(lengths.map((n, p) => (p === 1 ? n + 1 : n)));
    expect(await redis.get(p1!.idempotency('k-partial'))).toBe(`f2 2 ${outcome.ids[1]}`);

    // Now whole: a further retry appends nothing and is a replay.
    const again = await appender.append(groupId(), [request]);
    expect((again as { outcomes: unknown[] }).outcomes[0]).toEqual({ kind: 'stored', ids: outcome.ids, accepted: 2, replayed: true });
    expect(await Promise.all(partitions().map((p) => redis.xlen(p.stream)))).toEqual(after);
  });

  test('a record with another fingerprint in any partition refuses the whole request', async () => {
    const [, p1] = partitions();
    await redis.set(p1!.idempotency('k-other'), 'someone-else 1 1-1', 'EX', 60);
    const lengths = await Promise.all(partitions().map((p) => redis.xlen(p.stream)));
    const result = await appender.append(groupId(), [keyed('k-other', 'f3', ['N\te\t1\t1\t1\t1', 'N\tf\t1\t1\t1\t1'])]);
    expect(result).toEqual({ kind: 'appended', outcomes: [{ kind: 'conflict' }] });
    expect(await Promise.all(partitions().map((p) => redis.xlen(p.stream)))).toEqual(lengths);
    expect(await redis.exists(partitions()[0]!.idempotency('k-other'))).toBe(0);
  });

  test('the lines of every request of a group go into one entry per partition, the group id beside them', async () => {
    const id = groupId();
    const result = await appender.append(id, [
      { parts: [{ partition: 2, lines: 'N\tg\t1\t1\t1\t1' }], samples: 1 },
      {
        parts: [{ partition: 2, lines: 'N\th\t1\t1\t1\t1' }],
        samples: 1,
        idempotency: { keyHash: 'k-group', fingerprint: 'f4', ttlSeconds: 60 },
      },
      { parts: [{ partition: 2, lines: 'N\ti\t1\t1\t1\t1' }], samples: 1 },
    ]);
    const outcomes = (result as { outcomes: { ids: string[] }[] }).outcomes;
    const entryId = outcomes[0]!.ids[0]!;
    expect(outcomes.map((o) => o.ids)).toEqual([[entryId], [entryId], [entryId]]);
    const entries = (await redis.xrange(partitions()[2]!.stream, entryId, entryId)) as [string, string[]][];
    const fields = entries[0]![1];
    expect(fields).toEqual(['d', 'N\tg\t1\t1\t1\t1\nN\ti\t1\t1\t1\t1\nN\th\t1\t1\t1\t1', 'r', id]);
    expect(await appender.findGroupEntries([2, 3], id, Date.now() - 60_000)).toEqual([entryId, null]);
  });

  test('a keyed request retried after the partition count changed (routed anew) appends nothing', async () => {
    const own = testConfig();
    const appender4 = new SampleAppender(redis, own.keyPrefix, 4);
    const request = keyed('k-change', 'f5', ['N\tj\t1\t1\t1\t1', 'N\tk\t1\t1\t1\t1']);
    const first = await appender4.append(groupId(), [request]);
    expect((first as { outcomes: { kind: string }[] }).outcomes[0]!.kind).toBe('stored');
    // The change needs drained streams: the entries count as applied (trimmed away).
    for (const p of allPartitionKeys(own.keyPrefix, 4)) await redis.xtrim(p.stream, 'MAXLEN', 0);
    await redis.set(globalKeys(own.keyPrefix).partitionCount, '4');
    try {
      for (const to of [8, 3]) {
        await changePartitionCount(redis, to, {
          prefix: own.keyPrefix,
          group: own.consumerGroup,
          drainTimeoutMs: 5000,
          log: () => undefined,
        });
        const appender = new SampleAppender(redis, own.keyPrefix, to);
        const parts = request.parts.map((part, i) => ({ ...part, partition: to - 1 - i }));
        const retry = await appender.append(groupId(), [{ ...request, parts }]);
        expect((retry as { outcomes: { replayed: boolean }[] }).outcomes[0]!.replayed).toBe(true);
        for (const p of allPartitionKeys(own.keyPrefix, to)) expect(await redis.xlen(p.stream)).toBe(0);
      }
      // A removed partition keeps no records.
      expect(await redis.exists(allPartitionKeys(own.keyPrefix, 8)[7]!.idempotency('k-change'))).toBe(0);
    } finally {
      await deletePrefix(redis, own.keyPrefix);
    }
  });
});

/**
 * The stream commands ioredis knows no key of (XINFO, XGROUP: their key follows a
 * subcommand) reach their stream's master directly. Sent to a random master instead, they
 * come back MOVED and are sent again later; the read-after-write waiter, which reads the
 * group's delivered position and then its pending entries, could then see the two out of
 * order and answer before the entries were applied.
 */
import { startPrivateCluster, type PrivateCluster } from '../../launcher/private-cluster';
import { testConfig } from '../support/test-config';
import { SlotMover } from '../support/cluster-reshard';
import { createRedisClient, type RedisClient } from '../../shared/redis';
import { partitionKeys } from '../../shared/store/keys';
import { groupConsumers, groupInfo, pendingSummary, streamGroups, streamInfo } from '../../shared/store/group-info';
import { ensureGroup } from '../../shared/store/stream-groups';

describe('stream commands on a Redis Cluster', () => {
  let cluster: PrivateCluster;
  let mover: SlotMover;
  let redis: RedisClient;

  beforeAll(async () => {
    cluster = await startPrivateCluster({ masters: 3, replicasPerMaster: 0 });
    mover = await SlotMover.connect(cluster.seeds.split(',')[0]!);
    redis = createRedisClient(testConfig({ REDIS_CLUSTER_NODES: cluster.seeds }), { connectionName: 'test' });
  }, 60_000);
  afterAll(async () => {
    await redis?.quit();
    mover?.close();
    await cluster?.destroy();
  });

  test('XGROUP and XINFO go to the stream master: no MOVED reply, whatever master holds the stream', async () => {
    const partitions = 12;
    const all = Array.from({ length: partitions }, (_, p) => partitionKeys('route', p, partitions));
    const owners = new Set(await Promise.all(all.map(async (keys) => (await mover.ownerOf(await mover.slotOf(keys.stream))).id)));
    expect(owners.size).toBe(3);
    const before = (await mover.errorReplies()).MOVED ?? 0;
    for (const keys of all) {
      await ensureGroup(redis, keys.stream, 'workers');
      await redis.xadd(keys.stream, '*', 'f', 'v');
      await redis.xreadgroup('GROUP', 'workers', 'c1', 'COUNT', 1, 'STREAMS', keys.stream, '>');
      expect((await groupInfo(redis, keys, 'workers'))?.name).toBe('workers');
      expect(await streamGroups(redis, keys.stream)).toHaveLength(1);
      expect((await groupConsumers(redis, keys, 'workers')).map((c) => c.name)).toEqual(['c1']);
      expect(await streamInfo(redis, keys)).toMatchObject({ length: 1 });
      expect(await pendingSummary(redis, keys, 'workers')).toMatchObject({ count: 1 });
    }
    expect((await mover.errorReplies()).MOVED ?? 0).toBe(before);
  });
});

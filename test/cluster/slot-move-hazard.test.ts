/** The worker's start reads each master's Redis version, to warn of versions that crash when a slot moves under its reads. */
import { spawnSync } from 'node:child_process';
import { startPrivateCluster, type PrivateCluster } from '../../launcher/private-cluster';
import { loadConfig } from '../../shared/config';
import { connectOrFail, createRedisClient } from '../../shared/redis';
import { clusterMasterVersions, redisVersionOf } from '../../shared/store/slot-move-hazard';
import { testEnv } from '../support/test-config';

let cluster: PrivateCluster;
beforeAll(async () => {
  cluster = await startPrivateCluster({ masters: 2, replicasPerMaster: 0 });
});
afterAll(() => cluster?.destroy());

test("every master's address and version, as redis-server itself reports it", async () => {
  const redis = createRedisClient(loadConfig({ ...testEnv(), REDIS_CLUSTER_NODES: cluster.seeds, REDIS_URL: cluster.nodes[0]!.url }), {
    connectionName: 'slot-move-hazard-test',
  });
  try {
    await connectOrFail(redis, 10_000);
    const installed = /v=(\d+\.\d+\.\d+)/.exec(spawnSync('redis-server', ['--version'], { encoding: 'utf8' }).stdout)![1]!;
    const masters = await clusterMasterVersions(redis);
    expect(masters.map((master) => master.address).sort()).toEqual(cluster.nodes.map((node) => `127.0.0.1:${node.port}`).sort());
    for (const master of masters) expect(master.version).toEqual(redisVersionOf(`redis_version:${installed}`));
  } finally {
    redis.disconnect();
  }
});

test('a single Redis has no slots to move: no versions read', async () => {
  const redis = createRedisClient(loadConfig({ ...testEnv(), REDIS_CLUSTER_NODES: '', REDIS_URL: cluster.nodes[0]!.url }), {
    connectionName: 'slot-move-hazard-test',
  });
  try {
    expect(await clusterMasterVersions(redis)).toEqual([]);
  } finally {
    redis.disconnect();
  }
});

/**
 * One private Redis Cluster for a test file in test/cluster/ (3 masters, no replicas: the
 * core scenarios need slots spread over masters, not failover), started once. Its seeds go
 * in REDIS_CLUSTER_NODES while the file runs, so testEnv() points every scenario at it.
 */
import { startPrivateCluster, type PrivateCluster } from '../../launcher/private-cluster';

export function useSharedCluster(): { cluster(): PrivateCluster } {
  let cluster: PrivateCluster | undefined;
  beforeAll(async () => {
    cluster = await startPrivateCluster({ masters: 3, replicasPerMaster: 0 });
    process.env.REDIS_CLUSTER_NODES = cluster.seeds;
  }, 60_000);
  afterAll(async () => {
    delete process.env.REDIS_CLUSTER_NODES;
    await cluster?.destroy();
  });
  return {
    cluster: () => {
      if (!cluster) throw new Error('the shared cluster is not started yet (use it inside tests or hooks)');
      return cluster;
    },
  };
}

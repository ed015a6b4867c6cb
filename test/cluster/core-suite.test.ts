/**
 * The core integration scenarios on a Redis Cluster (3 masters): the same test bodies the
 * standalone suite runs (test/scenarios/), pointed at one private cluster started once.
 * The SIGKILL scenario runs one round here (three on one Redis).
 */
import { batchIngestScenarios } from '../scenarios/batch-ingest';
import { compatibilityApiScenarios } from '../scenarios/compatibility-api';
import { exactlyOnceCrashScenarios } from '../scenarios/exactly-once-crash';
import { idempotencyScenarios } from '../scenarios/idempotency';
import { readAfterWriteScenarios } from '../scenarios/read-after-write';
import { useSharedCluster } from '../support/shared-cluster';
import { testConfig } from '../support/test-config';

const shared = useSharedCluster();

compatibilityApiScenarios();
batchIngestScenarios();
idempotencyScenarios();
readAfterWriteScenarios();
exactlyOnceCrashScenarios({
  rounds: 1,
  startRedis: async () => {
    const { redisUrl } = testConfig();
    return { env: { REDIS_URL: redisUrl, REDIS_CLUSTER_NODES: shared.cluster().seeds }, destroy: async () => undefined };
  },
});

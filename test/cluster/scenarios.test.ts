/**
 * The standalone suite's scenarios (test/scenarios/) on a Redis Cluster (3 masters), the
 * same test bodies pointed at one private cluster started once for the file: the core
 * integration suite (reference model, batches, idempotency, read-after-write, SIGKILL: one
 * round here, three on one Redis), then operations (dead letters and replay, the pipeline
 * view with each partition's shard and /metrics, `nodeagg dlq`, `status`, `partitions`).
 */
import { batchIngestScenarios } from '../scenarios/batch-ingest';
import { cliDlqScenarios } from '../scenarios/cli-dlq';
import { cliPartitionsScenarios } from '../scenarios/cli-partitions';
import { compatibilityApiScenarios } from '../scenarios/compatibility-api';
import { deadLetterScenarios } from '../scenarios/dead-letters';
import { exactlyOnceCrashScenarios } from '../scenarios/exactly-once-crash';
import { idempotencyScenarios } from '../scenarios/idempotency';
import { pipelineViewScenarios } from '../scenarios/pipeline-view';
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
deadLetterScenarios();
pipelineViewScenarios();
cliDlqScenarios();
cliPartitionsScenarios();

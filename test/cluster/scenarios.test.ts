/**
 * The standalone suite's scenarios (test/scenarios/) on a Redis Cluster (3 masters), the
 * same test bodies pointed at one private cluster started once for the file: the core
 * integration suite (reference model, batches, idempotency, read-after-write, SIGKILL: one
 * round here, three on one Redis), then operations (dead letters and replay, the pipeline
 * view with each partition's shard and /metrics, the memory gauges showing the fullest master,
 * `nodeagg dlq`, `status`, `partitions`), the node list paged across partitions, trimming and
 * the maintenance job's single run, backpressure reading every partition's lag, one master
 * out of memory refusing only its partitions, and the
 * partition-count change (3 -> 6 -> 3: every key changes slot, and mostly master, each time).
 */
import { backpressureScenarios } from '../scenarios/backpressure';
import { batchIngestScenarios } from '../scenarios/batch-ingest';
import { cliDlqScenarios } from '../scenarios/cli-dlq';
import { cliPartitionsScenarios } from '../scenarios/cli-partitions';
import { compatibilityApiScenarios } from '../scenarios/compatibility-api';
import { deadLetterScenarios } from '../scenarios/dead-letters';
import { exactlyOnceCrashScenarios } from '../scenarios/exactly-once-crash';
import { idempotencyScenarios } from '../scenarios/idempotency';
import { maintenanceSingleRunScenarios } from '../scenarios/maintenance-single-run';
import { masterOutOfMemoryScenarios } from '../scenarios/master-out-of-memory';
import { nodeViewsScenarios } from '../scenarios/node-views';
import { partitionChangeScenarios } from '../scenarios/partition-change';
import { pipelineViewScenarios } from '../scenarios/pipeline-view';
import { readAfterWriteScenarios } from '../scenarios/read-after-write';
import { streamTrimmingScenarios } from '../scenarios/stream-trimming';
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
nodeViewsScenarios({ pagedNodes: 60 });
streamTrimmingScenarios();
maintenanceSingleRunScenarios();
backpressureScenarios();
masterOutOfMemoryScenarios();
// Fewer steps and nodes than on one Redis (4 -> 6 -> 3 -> 8 -> 4, 520 nodes): the file stays short.
partitionChangeScenarios({ counts: [3, 6, 3], nodes: 150, interruption: 'killed-while-moving' });

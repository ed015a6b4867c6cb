/**
 * Operations on a Redis Cluster (3 masters), with the standalone suite's test bodies
 * (test/scenarios/): dead letters and their replay, the pipeline view with each partition's
 * shard and /metrics, and the command line's `dlq`, `status` and `partitions`.
 */
import { cliDlqScenarios } from '../scenarios/cli-dlq';
import { cliPartitionsScenarios } from '../scenarios/cli-partitions';
import { deadLetterScenarios } from '../scenarios/dead-letters';
import { pipelineViewScenarios } from '../scenarios/pipeline-view';
import { useSharedCluster } from '../support/shared-cluster';

useSharedCluster();

deadLetterScenarios();
pipelineViewScenarios();
cliDlqScenarios();
cliPartitionsScenarios();

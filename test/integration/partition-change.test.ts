/**
 * Changing STREAM_PARTITIONS on one Redis (test/scenarios/partition-change.ts): 4 -> 6 -> 3
 * -> 8 -> 4 with 520 nodes, a change cut by the network mid-move and re-run, ingest refused
 * while the change runs and afterwards with a stale count.
 */
import { partitionChangeScenarios } from '../scenarios/partition-change';

partitionChangeScenarios({ counts: [4, 6, 3, 8, 4], nodes: 520, interruption: 'network-cut-at-bucket-delete' });

/** `nodeagg partitions`: its refusals and error paths, each leaving the data and ingest as they were. */
import { cliPartitionsScenarios } from '../scenarios/cli-partitions';

cliPartitionsScenarios();

/** Pipeline view and /metrics (README, API): the figures an operator watches while scaling. */
import { pipelineViewScenarios } from '../scenarios/pipeline-view';

pipelineViewScenarios();

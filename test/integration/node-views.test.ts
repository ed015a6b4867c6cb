/** Per-node views (README, API): the list, one node's summary and series, the list paged (test/scenarios/node-views.ts). */
import { nodeViewsScenarios } from '../scenarios/node-views';

nodeViewsScenarios({ pagedNodes: 100 });

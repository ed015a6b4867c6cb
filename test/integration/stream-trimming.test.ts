/** Bounded streams (test/scenarios/stream-trimming.ts): trimming never deletes an entry some group still needs. */
import { streamTrimmingScenarios } from '../scenarios/stream-trimming';

streamTrimmingScenarios();

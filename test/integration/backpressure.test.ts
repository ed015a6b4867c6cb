/** Backpressure (test/scenarios/backpressure.ts): over the lag limit ingest answers 503 + Retry-After, and recovers. */
import { backpressureScenarios } from '../scenarios/backpressure';

backpressureScenarios();

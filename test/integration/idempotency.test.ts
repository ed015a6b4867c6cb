/** Idempotent retries (README, API): the same Idempotency-Key appends once and answers the same. */
import { idempotencyScenarios } from '../scenarios/idempotency';

idempotencyScenarios();

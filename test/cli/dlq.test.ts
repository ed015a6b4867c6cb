/** `nodeagg dlq` and `status` with a real dead letter: list shows it, status counts it, replay and purge act on it. */
import { cliDlqScenarios } from '../scenarios/cli-dlq';

cliDlqScenarios();

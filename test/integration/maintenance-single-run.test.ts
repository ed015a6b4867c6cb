/** The maintenance job runs once per tick, however many worker replicas are scaled out (test/scenarios/maintenance-single-run.ts). */
import { maintenanceSingleRunScenarios } from '../scenarios/maintenance-single-run';

maintenanceSingleRunScenarios();

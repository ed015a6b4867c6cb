/** Entry point of the ingest service: config from the environment, listen, drain on SIGTERM. */
import { runService } from '../shared/process-lifecycle';
import { startIngest } from './server';

void runService('ingest', startIngest);

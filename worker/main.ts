/** Entry point of the worker: consume the partition streams, drain on SIGTERM. */
import { runService } from '../shared/process-lifecycle';
import { startWorker } from './server';

void runService('worker', startWorker);

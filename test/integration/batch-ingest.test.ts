/** POST /v1/samples: JSON arrays, NDJSON, gzip, RFC 3339 times; all or nothing. */
import { batchIngestScenarios } from '../scenarios/batch-ingest';

batchIngestScenarios();

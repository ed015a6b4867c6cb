/**
 * The Node.js flags ingest and worker run with, wherever they are started (the image's CMD,
 * docker-compose.yml, the Kubernetes manifests, `npm start`, the benchmark); the deploy tests
 * check that every place passes them.
 *
 * The worker's read of a stream and the plan of its apply are megabytes of short-lived objects.
 * With V8's default young generation (16 MB semi-spaces) many are still referenced when it
 * fills, so they are copied to the old generation and collected there at greater cost; 32 MB
 * semi-spaces let most of them die young. Not 64 (Node 24's default): each collection copies
 * what the applies in flight hold, and with 64 MB that stopped the worker about 1.7 times as
 * long, for the same total time and 60 to 80 MB more peak RSS. Ingest keeps the defaults:
 * there the longer pauses of a larger young generation lengthen the tail of the queries it
 * answers (docs/DEPLOYMENT.md, "Node flags").
 */
export type ServiceRole = 'ingest' | 'worker';

export const SERVICE_NODE_FLAGS: Readonly<Record<ServiceRole, readonly string[]>> = {
  ingest: [],
  worker: ['--max-semi-space-size=32'],
};

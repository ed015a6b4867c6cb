/**
 * `npm run start:cluster`: a private Redis Cluster (3 masters, a replica each, append-only) on
 * free ports, and ingest and a worker in cluster mode against it (REDIS_CLUSTER_NODES).
 */
import { startPrivateCluster, type PrivateCluster } from './private-cluster';
import { programAvailable } from './private-redis';
import { ServiceSession, loadConfigOrExit } from './service-session';

const REQUIRED_PROGRAMS = ['redis-server', 'redis-cli'];
const MASTERS = 3;

/** Stops every node, keeping its files (as `npm start` keeps its private Redis' data). */
async function stopCluster(cluster: PrivateCluster): Promise<void> {
  await Promise.all(cluster.nodes.map((node) => node.stop()));
}

async function main(): Promise<void> {
  const config = loadConfigOrExit();
  const missing = REQUIRED_PROGRAMS.filter((program) => !programAvailable(program));
  if (missing.length > 0) {
    console.error(
      `npm run start:cluster runs a private Redis Cluster and needs ${REQUIRED_PROGRAMS.join(' and ')}, but ${missing.join(' and ')} ${missing.length > 1 ? 'are' : 'is'} not on PATH. Install Redis 7 (e.g. "apt-get install redis-server redis-tools"), or use npm start against a Redis you run.`,
    );
    process.exit(1);
  }
  const session = new ServiceSession();
  console.log(`starting a private Redis Cluster: ${MASTERS} masters with a replica each, append-only ...`);
  let cluster: PrivateCluster | undefined;
  try {
    cluster = await session.startBackend(
      () => startPrivateCluster({ masters: MASTERS, replicasPerMaster: 1, appendOnly: true }),
      stopCluster,
    );
  } catch (error) {
    console.error(`the private Redis Cluster did not start: ${(error as Error).message}`);
    process.exit(1);
  }
  if (!cluster) return;
  const [first] = cluster.nodes;
  console.log(`Redis Cluster seeds (REDIS_CLUSTER_NODES): ${cluster.seeds}`);
  console.log(`data (append-only, kept after the session): ${cluster.nodes.map((node) => node.dir).join(' ')}`);
  // The private nodes have no password: REDIS_URL names one of them, so a password or TLS setting
  // meant for another Redis does not apply here.
  // Partitions a multiple of the masters, so each master holds as many (unless set).
  const partitions = process.env.STREAM_PARTITIONS ?? String(2 * MASTERS);
  console.log(`STREAM_PARTITIONS=${partitions} over ${MASTERS} masters`);
  const env = { ...process.env, REDIS_CLUSTER_NODES: cluster.seeds, REDIS_URL: first?.url ?? '', STREAM_PARTITIONS: partitions };
  session.startServices(env, config);
}

void main();

/** Starts what a benchmark configuration measures: a private Redis, ingest, N workers, and the bare Koa baseline. */
import { spawn, type ChildProcess } from 'node:child_process';
import { join, resolve } from 'node:path';
import { freePort } from '../launcher/free-port';
import { SERVICE_NODE_FLAGS, type ServiceRole } from '../launcher/service-node-flags';
import { startPrivateRedis, type PrivateRedis } from '../launcher/private-redis';
import { startPrivateCluster } from '../launcher/private-cluster';
import { SCOPES } from '../shared/auth/scopes';
import { createToken } from '../cli/commands/token';
import { procStatusKb } from './peak-rss';
import { makeRealtime, REALTIME_PRIORITY, REDIS_REALTIME_PRIORITY, type RealtimeProcess } from './realtime';

export const ROOT = join(__dirname, '..', '..');

export interface Services {
  /** The Redis server, or the first master of a cluster. */
  redis: PrivateRedis;
  /** Every server that holds data: the one Redis, or each master of the cluster. */
  redisServers: PrivateRedis[];
  ingestUrl: string;
  /** The bench's token (every scope): every client sends it, as real clients do; '' when the API is open. */
  token: string;
  bareUrl: string;
  env: Record<string, string>;
  /** The dist/ directory ingest and workers run from. */
  servicesDist: string;
  /** The Node flags each role's processes run with. */
  serviceNodeFlags: Readonly<Record<ServiceRole, readonly string[]>>;
  ingest: ChildProcess;
  workers: ChildProcess[];
  /** Each worker's health port (/metrics, /readyz). */
  workerUrls: string[];
  bare: ChildProcess;
  stop(): Promise<void>;
}

async function waitHttp(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${url} did not become ready within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function node(dist: string, script: string, env: Record<string, string>, nodeArgs: readonly string[] = []): ChildProcess {
  const child = spawn(process.execPath, [...nodeArgs, join(dist, script)], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  child.stdout!.resume(); // warn-level logs only; never let a full pipe stall the service
  return child;
}

/**
 * Limits so high the benchmark's single client never reaches them: every request still pays for
 * the checks (that is what is measured), none is refused.
 */
export const UNREACHED_LIMITS = {
  RATE_LIMIT_REQUESTS_PER_SECOND: '10000000',
  RATE_LIMIT_SAMPLES_PER_SECOND: '100000000',
  NEW_NODES_PER_MINUTE: '100000000',
  MAX_NODES: '100000000',
};

/** SIGTERM, resolved once the process has exited. */
export function stopProcess(child: ChildProcess): Promise<void> {
  return new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

/**
 * Starts another ingest process on the same Redis, e.g. one without tokens for the auth-cost
 * comparison: of the services' build, or of the build in `dist` (another checkout's dist/).
 */
/** Waits for a started service to be ready; one that never is gets stopped, not left running. */
async function readyOrStopped(child: ChildProcess, url: string): Promise<void> {
  try {
    await waitHttp(`${url}/readyz`, 20_000);
  } catch (error) {
    await stopProcess(child);
    throw error;
  }
}

export async function startExtraIngest(
  services: Services,
  env: Record<string, string>,
  dist = services.servicesDist,
): Promise<{ url: string; child: ChildProcess }> {
  const port = await freePort();
  const child = node(
    dist,
    'ingest/main.js',
    { ...services.env, INGEST_PORT: String(port), WORKER_HEALTH_PORT: '0', API_TOKENS: '', ...env },
    services.serviceNodeFlags.ingest,
  );
  const url = `http://127.0.0.1:${port}`;
  await readyOrStopped(child, url);
  return { url, child };
}

/**
 * Starts a worker on the services' Redis: of the services' build, or of the build in `dist`
 * (another checkout's dist/), e.g. to compare two workers' builds in turns.
 */
export async function startExtraWorker(
  services: Services,
  consumerName: string,
  dist = services.servicesDist,
): Promise<{ url: string; child: ChildProcess }> {
  const port = await freePort();
  const child = node(
    dist,
    'worker/main.js',
    { ...services.env, WORKER_HEALTH_PORT: String(port), WORKER_CONSUMER_NAME: consumerName },
    services.serviceNodeFlags.worker,
  );
  const url = `http://127.0.0.1:${port}`;
  await readyOrStopped(child, url);
  return { url, child };
}

export interface ServiceOptions {
  /** Node flags of the ingest or worker processes (default: SERVICE_NODE_FLAGS, as they are deployed). */
  serviceNodeFlags?: Partial<Record<ServiceRole, readonly string[]>>;
  /** More Node options of the ingest process, e.g. `--cpu-prof`. */
  ingestNodeArgs?: string[];
  /** More Node options of every worker process, e.g. `--cpu-prof`. */
  workerNodeArgs?: string[];
  /** Node options of the bare Koa baseline, e.g. `--cpu-prof` for its profile beside ingest's. */
  bareNodeArgs?: string[];
  /** No tokens: the API open, as in the by-hand figures of docs/BENCHMARKS.md. */
  openApi?: boolean;
  /**
   * The build whose ingest and worker are measured (default: this checkout's dist/), e.g. the
   * dist/ of a checkout of an older commit, to measure before and after with the same bench.
   */
  servicesDist?: string;
  /** A private Redis Cluster of this many masters (no replicas) instead of one Redis. */
  clusterMasters?: number;
  /** STREAM_PARTITIONS (default: the services' own). */
  partitions?: number;
  /** These processes of the pipeline under the real-time FIFO scheduler (realtime.ts); the baselines never. */
  realtime?: readonly RealtimeProcess[];
}

/** One private Redis, or a private cluster of `masters` masters: what the services connect to. */
async function startRedis(
  masters: number | undefined,
): Promise<{ servers: PrivateRedis[]; env: Record<string, string>; destroy(): Promise<void> }> {
  if (masters === undefined) {
    const redis = await startPrivateRedis();
    return { servers: [redis], env: { REDIS_URL: redis.url }, destroy: () => redis.destroy() };
  }
  const cluster = await startPrivateCluster({ masters, replicasPerMaster: 0 });
  // REDIS_URL only lends its credentials in cluster mode; the seeds are every master.
  return {
    servers: cluster.nodes,
    env: { REDIS_URL: cluster.nodes[0]!.url, REDIS_CLUSTER_NODES: cluster.seeds },
    destroy: () => cluster.destroy(),
  };
}

export async function startServices(workers: number, options: ServiceOptions = {}): Promise<Services> {
  const redis = await startRedis(options.clusterMasters);
  const ingestPort = await freePort();
  const bench = options.openApi ? { line: '', token: '' } : createToken('bench', [...SCOPES]);
  const env = {
    ...redis.env,
    ...(options.partitions === undefined ? {} : { STREAM_PARTITIONS: String(options.partitions) }),
    KEY_PREFIX: 'bench',
    INGEST_HOST: '127.0.0.1',
    INGEST_PORT: String(ingestPort),
    LOG_LEVEL: 'warn',
    API_TOKENS: bench.line,
    API_TOKENS_FILE: '',
    ...UNREACHED_LIMITS,
  };
  const servicesDist = resolve(options.servicesDist ?? join(ROOT, 'dist'));
  const serviceNodeFlags = { ...SERVICE_NODE_FLAGS, ...options.serviceNodeFlags };
  const ingest = node(servicesDist, 'ingest/main.js', { ...env, WORKER_HEALTH_PORT: '0' }, [
    ...serviceNodeFlags.ingest,
    ...(options.ingestNodeArgs ?? []),
  ]);
  const ingestUrl = `http://127.0.0.1:${ingestPort}`;
  const workerProcesses: ChildProcess[] = [];
  const workerUrls: string[] = [];
  try {
    await waitHttp(`${ingestUrl}/readyz`, 20_000);
    for (let i = 0; i < workers; i++) {
      const healthPort = await freePort();
      workerProcesses.push(
        node(
          servicesDist,
          'worker/main.js',
          { ...env, WORKER_HEALTH_PORT: String(healthPort), WORKER_CONSUMER_NAME: `bench-worker-${i}` },
          [...serviceNodeFlags.worker, ...(options.workerNodeArgs ?? [])],
        ),
      );
      workerUrls.push(`http://127.0.0.1:${healthPort}`);
      await waitHttp(`${workerUrls[i]}/readyz`, 20_000);
    }
    // Once started, so every thread each has started by then is found; later ones inherit the policy.
    const realtime = options.realtime ?? [];
    if (realtime.includes('redis')) for (const server of redis.servers) makeRealtime(server.process.pid, REDIS_REALTIME_PRIORITY);
    if (realtime.includes('ingest')) makeRealtime(ingest.pid, REALTIME_PRIORITY);
    if (realtime.includes('worker')) for (const worker of workerProcesses) makeRealtime(worker.pid, REALTIME_PRIORITY);
  } catch (error) {
    // A service that never became ready leaves nothing running behind (least of all the Redis servers).
    for (const child of [ingest, ...workerProcesses]) child.kill('SIGKILL');
    await redis.destroy();
    throw error;
  }
  const { child: bare, url: bareUrl } = await startBaseline([], options.bareNodeArgs);
  return {
    redis: redis.servers[0]!,
    redisServers: redis.servers,
    ingestUrl,
    token: bench.token,
    bareUrl,
    env,
    servicesDist,
    serviceNodeFlags,
    ingest,
    workers: workerProcesses,
    workerUrls,
    bare,
    stop: async () => {
      // The private redis-server is unref'd: hold the event loop open until it has exited.
      const hold = setInterval(() => undefined, 1000);
      try {
        await Promise.all([stopProcess(bare), stopProcess(ingest), ...workerProcesses.map(stopProcess)]);
        await redis.destroy();
      } finally {
        clearInterval(hold);
      }
    },
  };
}

/** A baseline server of bench/bare-koa.ts (`args`: its options), on a free port it prints. */
async function startBaseline(args: readonly string[], nodeArgs: readonly string[] = []): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [...nodeArgs, join(ROOT, 'dist', 'bench', 'bare-koa.js'), ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise<string>((resolve) => child.stdout!.once('data', (d: Buffer) => resolve(d.toString().trim())));
  return { child, url: `http://127.0.0.1:${port}` };
}

/** The bare handler behind ingest's middleware and write routes (bare-koa.ts `--routed`); the caller stops it. */
export function startRoutedBaseline(): Promise<{ child: ChildProcess; url: string }> {
  return startBaseline(['--routed']);
}

/** Peak resident set of a process so far (VmHWM), in MB; null when it cannot be read. */
export function peakRssMb(child: ChildProcess): number | null {
  const kb = child.pid === undefined ? 0 : procStatusKb(child.pid, 'VmHWM');
  return kb > 0 ? Math.round(kb / 102.4) / 10 : null;
}

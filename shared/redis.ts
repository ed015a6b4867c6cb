/**
 * Creates Redis connections: one Redis from REDIS_URL (redis:// or rediss://, password in
 * the URL), or a Redis Cluster from the seeds in REDIS_CLUSTER_NODES with REDIS_URL's
 * credentials and TLS.
 */
import Redis, { Cluster, type ClusterOptions, type RedisOptions } from 'ioredis';
import { parseClusterSeeds, type Config } from './config';
import { failInFlightOnClose } from './store/in-flight-on-close';
import { registerScripts } from './store/scripts';

export type RedisClient = Redis | Cluster;

/** True for a Redis Cluster client (its commands are routed per key slot). */
export function isCluster(client: RedisClient): client is Cluster {
  return client instanceof Cluster;
}

export interface RedisClientOptions {
  /** Name shown by CLIENT LIST, to tell connections apart. */
  connectionName: string;
  /** Blocking readers need a timeout longer than their BLOCK argument. */
  commandTimeoutMs?: number;
  /** Commands issued while disconnected fail at once instead of queueing without bound. */
  failFastWhenDisconnected?: boolean;
  /**
   * Sends the commands of concurrent requests in one write (ingest under many connections).
   * One Redis only: ioredis's cluster auto-pipelines mix slots in one script pipeline, so a
   * cluster sends each command.
   */
  autoPipelining?: boolean;
  /**
   * For sharded pub/sub only (SSUBSCRIBE): a cluster client then keeps a subscriber per master;
   * one Redis's client leaves subscribing again after a reconnect to its user (applied-signals.ts).
   */
  subscriber?: boolean;
}

/** Keep retrying forever with a capped backoff: Redis coming back must heal the service. */
function reconnectDelay(attempt: number): number {
  return Math.min(50 * 2 ** Math.min(attempt, 6), 2000);
}

/** User name, password, TLS and database of REDIS_URL (the part a cluster shares with it). */
function urlCredentials(redisUrl: string): Pick<RedisOptions, 'username' | 'password' | 'tls' | 'db'> {
  const url = new URL(redisUrl);
  return {
    username: url.username ? decodeURIComponent(url.username) : undefined,
    password: url.password ? decodeURIComponent(url.password) : undefined,
    tls: url.protocol === 'rediss:' ? {} : undefined,
    db: url.pathname.length > 1 ? Number(url.pathname.slice(1)) : 0,
  };
}

function clusterSeeds(config: Config): { host: string; port: number }[] {
  const seeds = parseClusterSeeds(config.redisClusterNodes);
  if (!seeds) throw new Error(`REDIS_CLUSTER_NODES=${JSON.stringify(config.redisClusterNodes)} is not a list of host:port seeds`);
  return seeds;
}

/**
 * The cluster client's own safety options. A command whose connection closed is not sent
 * again (retryDelayOnFailover 0): a write may have run. Redirections (MOVED, ASK) and the
 * refusals that say the command did not run (TRYAGAIN during a reshard, CLUSTERDOWN during
 * a failover) are followed or retried, at most `maxRedirections` times.
 */
function clusterOptions(
  config: Config,
  redisOptions: ClusterOptions['redisOptions'],
  failFast: boolean,
  subscriber: boolean,
): ClusterOptions {
  return {
    shardedSubscribers: subscriber,
    lazyConnect: true,
    scaleReads: 'master',
    enableOfflineQueue: !failFast,
    enableAutoPipelining: false,
    maxRedirections: 16,
    retryDelayOnFailover: 0,
    retryDelayOnTryAgain: 100,
    retryDelayOnClusterDown: 100,
    slotsRefreshTimeout: Math.max(1000, config.redisCommandTimeoutMs),
    clusterRetryStrategy: reconnectDelay,
    redisOptions,
  };
}

export function createRedisClient(config: Config, options: RedisClientOptions): RedisClient {
  const { db, ...credentials } = urlCredentials(config.redisUrl);
  const connectionOptions = {
    connectionName: options.connectionName,
    commandTimeout: options.commandTimeoutMs ?? config.redisCommandTimeoutMs,
    maxRetriesPerRequest: 1,
    // A command whose reply was lost must not be sent again on reconnect: for a write that
    // would store it twice. Callers decide (ingest settles the outcome; workers retry).
    autoResendUnfulfilledCommands: false,
    connectTimeout: Math.max(1000, config.redisCommandTimeoutMs),
    reconnectOnError: (error: Error) => error.message.startsWith('READONLY'),
  };
  const client: RedisClient = config.redisClusterNodes
    ? new Cluster(
        clusterSeeds(config),
        clusterOptions(
          config,
          { ...connectionOptions, ...credentials },
          options.failFastWhenDisconnected ?? false,
          options.subscriber ?? false,
        ),
      )
    : new Redis(config.redisUrl, {
        ...connectionOptions,
        db,
        lazyConnect: true,
        enableOfflineQueue: !options.failFastWhenDisconnected,
        enableAutoPipelining: options.autoPipelining ?? false,
        retryStrategy: reconnectDelay,
        // A subscriber subscribes again itself (applied-signals.ts), where a refusal is caught.
        autoResubscribe: !(options.subscriber ?? false),
      });
  registerScripts(client);
  if (!isCluster(client)) failInFlightOnClose(client);
  // Connection errors are reported through readiness and failed commands; an unhandled
  // 'error' event must not crash the process.
  client.on('error', () => undefined);
  return client;
}

/**
 * A client for one look at a Redis that may not be there: connects on demand, never
 * retries, and reports no 'error' events (the caller's connect or command fails instead).
 */
export function createProbeClient(redisUrl: string, connectTimeoutMs: number): Redis {
  const client = new Redis(redisUrl, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    connectTimeout: connectTimeoutMs,
  });
  client.on('error', () => undefined);
  return client;
}

/** Connects a lazy client, rejecting after `timeoutMs` instead of retrying forever. */
export async function connectOrFail(client: RedisClient, timeoutMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      client.connect(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`Redis did not answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** What BullMQ connects with: options for its own connections, or a shared Cluster client. */
export interface BullConnection {
  connection: RedisOptions | Cluster;
  /** Closes what was created here (BullMQ leaves a client it was given open). */
  close(): Promise<void>;
}

/**
 * The connection of BullMQ's queues. One Redis: options, from which BullMQ opens its own
 * connections. A cluster: a Cluster client (BullMQ duplicates it for blocking reads);
 * BullMQ requires `maxRetriesPerRequest: null` on it, and its keys share one hash tag.
 */
export function bullConnection(config: Config): BullConnection {
  const { db, ...credentials } = urlCredentials(config.redisUrl);
  if (!config.redisClusterNodes) {
    const url = new URL(config.redisUrl);
    return {
      connection: { host: url.hostname, port: Number(url.port || 6379), db, ...credentials, retryStrategy: reconnectDelay },
      close: async () => undefined,
    };
  }
  const cluster = new Cluster(clusterSeeds(config), {
    scaleReads: 'master',
    clusterRetryStrategy: reconnectDelay,
    redisOptions: { ...credentials, maxRetriesPerRequest: null, connectTimeout: Math.max(1000, config.redisCommandTimeoutMs) },
  });
  cluster.on('error', () => undefined);
  return {
    connection: cluster,
    close: async () => {
      await cluster.quit().catch(() => cluster.disconnect());
    },
  };
}

/** Creates Redis connections from REDIS_URL (redis:// or rediss://, password in the URL). */
import Redis, { type RedisOptions } from 'ioredis';
import type { Config } from './config';
import { registerScripts } from './store/scripts';

export type RedisClient = Redis;

export interface RedisClientOptions {
  /** Name shown by CLIENT LIST, to tell connections apart. */
  connectionName: string;
  /** Blocking readers need a timeout longer than their BLOCK argument. */
  commandTimeoutMs?: number;
  /** Commands issued while disconnected fail at once instead of queueing without bound. */
  failFastWhenDisconnected?: boolean;
  /** Sends the commands of concurrent requests in one write (ingest under many connections). */
  autoPipelining?: boolean;
}

export function createRedisClient(config: Config, options: RedisClientOptions): RedisClient {
  const redisOptions: RedisOptions = {
    connectionName: options.connectionName,
    lazyConnect: true,
    commandTimeout: options.commandTimeoutMs ?? config.redisCommandTimeoutMs,
    maxRetriesPerRequest: 1,
    enableOfflineQueue: !options.failFastWhenDisconnected,
    // A command whose reply was lost must not be sent again on reconnect: for a write that
    // would store it twice. Callers decide (ingest settles the outcome; workers retry).
    autoResendUnfulfilledCommands: false,
    enableAutoPipelining: options.autoPipelining ?? false,
    connectTimeout: Math.max(1000, config.redisCommandTimeoutMs),
    // Keep retrying forever with a capped backoff: Redis coming back must heal the service.
    retryStrategy: (attempt) => Math.min(50 * 2 ** Math.min(attempt, 6), 2000),
    reconnectOnError: (error) => error.message.startsWith('READONLY'),
  };
  const client = new Redis(config.redisUrl, redisOptions);
  registerScripts(client);
  // Connection errors are reported through readiness and failed commands; an unhandled
  // 'error' event must not crash the process.
  client.on('error', () => undefined);
  return client;
}

/**
 * A client for one look at a Redis that may not be there: connects on demand, never
 * retries, and reports no 'error' events (the caller's connect or command fails instead).
 */
export function createProbeClient(redisUrl: string, connectTimeoutMs: number): RedisClient {
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

/**
 * Connection options for BullMQ, which opens its own connections (blocking ones need
 * `maxRetriesPerRequest: null`, which BullMQ sets itself).
 */
export function bullConnectionOptions(config: Config): RedisOptions {
  const url = new URL(config.redisUrl);
  return {
    host: url.hostname,
    port: Number(url.port || 6379),
    username: url.username ? decodeURIComponent(url.username) : undefined,
    password: url.password ? decodeURIComponent(url.password) : undefined,
    db: url.pathname.length > 1 ? Number(url.pathname.slice(1)) : 0,
    tls: url.protocol === 'rediss:' ? {} : undefined,
    retryStrategy: (attempt) => Math.min(50 * 2 ** Math.min(attempt, 6), 2000),
  };
}

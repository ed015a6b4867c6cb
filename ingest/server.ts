/** Starts the ingest service on a port (0 = any) and stops it with a bounded drain. */
import type Koa from 'koa';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Config } from '../shared/config';
import { allPartitionKeys, type PartitionKeys } from '../shared/store/keys';
import { registerPipelineGauges } from '../shared/pipeline-gauges';
import type { Logger } from '../shared/logger';
import { connectOrFail, createRedisClient, type RedisClient } from '../shared/redis';
import { prepareRedis } from '../shared/service-start';
import { ThrottledWarnings } from '../shared/throttled-warnings';
import { registerRedisMemoryGauges } from '../shared/redis-memory';
import { DeadLetterQueue } from '../shared/dead-letter-queue';
import { AggregateReader } from '../shared/store/window-reads';
import { AppliedSignals } from '../shared/store/applied-signals';
import { BackpressureMonitor } from './backpressure';
import { createApp, routesOf, type RouteInfo } from './app';
import { ConsistencyWaiter } from './consistency-waiter';
import { createIngestMetrics } from './metrics';
import { NodeReader } from './node-reader';
import { SampleWriter } from './sample-writer';
import { SampleAppender, type ReplicaWait } from '../shared/store/sample-append';
import { loadTokens } from '../shared/auth/token-source';
import { NodeCardinality } from './limits/node-cardinality';

/** Longer than common load balancer idle timeouts, so the balancer closes idle connections first. */
export const KEEP_ALIVE_TIMEOUT_MS = 65_000;
/** A client gets this long to send its request headers. */
export const HEADERS_TIMEOUT_MS = 20_000;
/** Pending connections the kernel may queue (capped by net.core.somaxconn). */
const LISTEN_BACKLOG = 4096;

export interface RunningIngest {
  server: Server;
  /** The Koa app, so tests can walk its routes. */
  app: Koa;
  url: string;
  /** The routes it serves (method and path template). */
  routes: readonly RouteInfo[];
  /** Drains: stops accepting, finishes in-flight requests, closes Redis. Safe to call twice. */
  close(): Promise<void>;
}

export async function startIngest(config: Config, logger: Logger): Promise<RunningIngest> {
  const tokens = loadTokens(config, logger);
  const redis = createRedisClient(config, { connectionName: 'ingest', failFastWhenDisconnected: true, autoPipelining: true });
  const partitions = allPartitionKeys(config.keyPrefix, config.streamPartitions);
  const warnings = new ThrottledWarnings(logger);
  const stopEnsuringGroups = await prepareRedis(redis, config, partitions, warnings);
  let draining = false;
  const appendRedis = await appendConnection(config, redis).catch((error: unknown) => {
    stopEnsuringGroups();
    throw error;
  });
  const metrics = createIngestMetrics(config.redisWaitReplicas);
  registerPipelineGauges(metrics.registry, redis, config.keyPrefix);
  registerRedisMemoryGauges(metrics.registry, redis);
  const backpressure = new BackpressureMonitor(
    redis,
    partitions,
    config.consumerGroup,
    config.maxPartitionLag,
    config.backpressureRefreshMs,
    metrics.registry,
    config.keyPrefix,
  );
  backpressure.start();
  const waiter = new ConsistencyWaiter(redis, partitions, config.consumerGroup, config.consistencyWaitMs, config.maxConsistencyWaiters);
  const signals = await appliedSignals(config, partitions, waiter, logger);
  const deadLetters = new DeadLetterQueue(config, redis);
  const nodes = new NodeReader(redis, partitions);
  const cardinality = new NodeCardinality(nodes, config.maxNodes, logger, metrics.registry);
  await cardinality.start();
  const app = createApp({
    config,
    redis,
    appendRedis,
    logger,
    partitions,
    writer: new SampleWriter(new SampleAppender(appendRedis, config.keyPrefix, config.streamPartitions, replicaWaitOf(config)), {
      partitions: config.streamPartitions,
      onReplicationTimeout: () => metrics.replicationTimeouts.inc(),
      lingerMs: config.ingestCommitLingerMs,
      settleWithinMs: 2 * config.redisCommandTimeoutMs,
      idempotencyTtlSeconds: config.idempotencyTtlSeconds,
      admit: (touched) => backpressure.check(touched),
    }),
    deadLetters,
    reader: new AggregateReader(redis, partitions),
    nodes,
    waiter,
    metrics,
    tokens: tokens.store,
    cardinality,
    isDraining: () => draining,
  });
  // Our own 408 (request-body.ts) answers a slow body first; requestTimeout is the backstop
  // for anything else, checked every second instead of Node's default 30 s.
  const server = createServer(
    { headersTimeout: HEADERS_TIMEOUT_MS, requestTimeout: HEADERS_TIMEOUT_MS + config.bodyTimeoutMs, connectionsCheckingInterval: 1000 },
    app.callback(),
  );
  server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    // A fleet reconnecting at once (or thousands of ?after= waits) must not overflow Node's default backlog of 511.
    server.listen({ port: config.ingestPort, host: config.ingestHost, backlog: LISTEN_BACKLOG }, resolve);
  });
  const { port } = server.address() as AddressInfo;
  const host = config.ingestHost === '0.0.0.0' ? '127.0.0.1' : config.ingestHost;
  logger.info({ port, partitions: partitions.length }, 'ingest listening');

  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      draining = true;
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const deadline = setTimeout(() => server.closeAllConnections(), config.shutdownTimeoutMs);
      await stopped;
      clearTimeout(deadline);
      backpressure.stop();
      stopEnsuringGroups();
      cardinality.stop();
      tokens.stop();
      await signals?.stop();
      await deadLetters.close().catch(() => undefined);
      await appendRedis.quit().catch(() => appendRedis.disconnect());
      await redis.quit().catch(() => redis.disconnect());
      logger.info('ingest stopped');
    })();
    return closing;
  };
  return { server, app, url: `http://${host}:${port}`, routes: routesOf(app), close };
}

function replicaWaitOf(config: Config): ReplicaWait | undefined {
  return config.redisWaitReplicas > 0 ? { replicas: config.redisWaitReplicas, timeoutMs: config.redisWaitTimeoutMs } : undefined;
}

/**
 * The connection appends go on, their own. Without auto-pipelining: the group commit already
 * sends one call at a time for many requests, and with ioredis's auto-pipeline around each
 * call ingest spent about 1.6 times the CPU per single POST while a worker applied
 * (docs/BENCHMARKS.md). With REDIS_WAIT_REPLICAS, WAIT blocks this connection until the
 * replicas answer, and queries, readiness pings and backpressure reads do not queue behind
 * it; the command timeout then leaves room for the WAIT, so Redis's own timeout answers first.
 */
async function appendConnection(config: Config, shared: RedisClient): Promise<RedisClient> {
  const client = createRedisClient(config, {
    connectionName: 'ingest-append',
    failFastWhenDisconnected: true,
    commandTimeoutMs: config.redisCommandTimeoutMs + (config.redisWaitReplicas > 0 ? config.redisWaitTimeoutMs : 0),
  });
  try {
    await connectOrFail(client, 10_000);
  } catch (error) {
    client.disconnect();
    await shared.quit().catch(() => shared.disconnect());
    throw error;
  }
  return client;
}

/**
 * The workers' "applied" hints, which wake the read-after-write waiter before its next poll.
 * Without them (e.g. an ACL user without channel access: Redis 7 grants none by default)
 * the waiter still polls, so this warns and goes on.
 */
async function appliedSignals(
  config: Config,
  partitions: readonly PartitionKeys[],
  waiter: ConsistencyWaiter,
  logger: Logger,
): Promise<AppliedSignals | undefined> {
  const subscriber = createRedisClient(config, { connectionName: 'ingest-applied-hints', subscriber: true });
  const signals = new AppliedSignals(
    subscriber,
    partitions,
    (partition) => waiter.applied(partition),
    (error) =>
      logger.warn(
        { err: error.message, channels: partitions.map((p) => p.appliedChannel).slice(0, 2) },
        "cannot subscribe again to the workers' applied hints after a reconnect; read-after-write queries poll every 10 ms instead",
      ),
  );
  try {
    await connectOrFail(subscriber, Math.max(1000, config.redisCommandTimeoutMs));
    await signals.start();
    return signals;
  } catch (error) {
    logger.warn(
      { err: (error as Error).message, channels: partitions.map((p) => p.appliedChannel).slice(0, 2) },
      "cannot subscribe to the workers' applied hints; read-after-write queries poll every 10 ms instead (docs/ARCHITECTURE.md)",
    );
    await signals.stop();
    return undefined;
  }
}

/** Starts a worker: one consumer per partition stream, plus its health server. */
import Koa from 'koa';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Config } from '../shared/config';
import { healthRouter } from '../shared/health-routes';
import { registerPipelineGauges } from '../shared/pipeline-gauges';
import { allPartitionKeys, type PartitionKeys } from '../shared/store/keys';
import type { Logger } from '../shared/logger';
import { checkReadiness } from '../shared/readiness';
import { connectOrFail, createRedisClient, type RedisClient } from '../shared/redis';
import { prepareRedis } from '../shared/service-start';
import { ThrottledWarnings } from '../shared/throttled-warnings';
import { registerRedisMemoryGauges } from '../shared/redis-memory';
import { DeadLetterQueue } from '../shared/dead-letter-queue';
import { scopeGuard } from '../shared/auth/scope-guard';
import { loadTokens } from '../shared/auth/token-source';
import { AggregateStore } from '../shared/store/batch-apply';
import { removeConsumer } from '../shared/store/consumer-liveness';
import { clusterMasterVersions, slotMoveHazardWarning } from '../shared/store/slot-move-hazard';
import { ConsumerHeartbeat } from './consumer-liveness';
import { Maintenance } from './maintenance';
import { createWorkerMetrics } from './metrics';
import { StreamConsumer } from './stream-consumer';

export interface RunningWorker {
  server: Server;
  healthUrl: string;
  /** Drains: finishes and acknowledges the current batches, leaves the group if nothing is pending. */
  close(): Promise<void>;
}

export async function startWorker(config: Config, logger: Logger): Promise<RunningWorker> {
  const partitions = allPartitionKeys(config.keyPrefix, config.streamPartitions);
  const tokens = loadTokens(config, logger);
  const redis = createRedisClient(config, { connectionName: `worker:${config.workerConsumerName}` });
  const warnings = new ThrottledWarnings(logger);
  const stopEnsuringGroups = await prepareRedis(redis, config, partitions, warnings);
  // Once, not awaited: a master that does not answer INFO (a managed service) changes nothing.
  void clusterMasterVersions(redis).then(
    (masters) => {
      const warning = slotMoveHazardWarning(masters);
      if (warning) logger.warn({ masters }, warning);
    },
    (error: Error) => logger.debug({ err: error.message }, "could not read the masters' Redis versions"),
  );
  const metrics = createWorkerMetrics();
  const store = new AggregateStore(redis, config.consumerGroup, config.workerConsumerName);
  const deadLetters = new DeadLetterQueue(config, redis);
  const maintenance = new Maintenance(config, redis, partitions, deadLetters, logger);
  registerPipelineGauges(metrics.registry, redis, config.keyPrefix);
  registerRedisMemoryGauges(metrics.registry, redis);
  const readers: RedisClient[] = [];
  const consumers = partitions.map((keys) => {
    const reader = createRedisClient(config, {
      connectionName: `worker:${config.workerConsumerName}:read:${keys.partition}`,
      commandTimeoutMs: config.workerBlockMs + config.redisCommandTimeoutMs,
    });
    readers.push(reader);
    return new StreamConsumer(keys, { config, redis, reader, store, deadLetters, metrics, logger });
  });
  await Promise.all(readers.map((r) => connectOrFail(r, 10_000)));
  const heartbeat = new ConsumerHeartbeat(redis, partitions, config.workerConsumerName, config.consumerExpiryMs, (error) =>
    warnings.warn('heartbeat', { err: error.message }, 'consumer heartbeat refresh failed; retrying'),
  );
  heartbeat.start();
  for (const consumer of consumers) consumer.start();
  await maintenance.start();

  let draining = false;
  const rejectionLogs = new ThrottledWarnings(logger, 60_000);
  const staleAfterMs = Math.max(30_000, config.workerBlockMs * 5);
  const app = new Koa();
  app.silent = true;
  app.use(
    healthRouter({
      // A loop that stopped going round, or a partition this worker holds stuck, needs a restart.
      alive: () => consumers.every((c) => Date.now() - c.heartbeat < staleAfterMs && !c.stalled()),
      readiness: () => checkReadiness(redis, partitions, config.consumerGroup, draining),
      registry: metrics.registry,
      metricsGuard: scopeGuard(tokens.store, 'metrics', (reason, path) => {
        rejectionLogs.info(reason, { reason, path }, 'request rejected: authentication (at most one line per reason per minute)');
      }),
    }).routes(),
  );
  const server = createServer(app.callback());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.workerHealthPort, config.ingestHost, resolve);
  });
  const { port } = server.address() as AddressInfo;
  logger.info({ consumer: config.workerConsumerName, partitions: partitions.length, healthPort: port }, 'worker started');

  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      draining = true;
      tokens.stop();
      const steps: (() => Promise<unknown>)[] = [
        async () => stopEnsuringGroups(),
        () => Promise.all(consumers.map((c) => c.stop())),
        () => maintenance.close(),
        () => deadLetters.close(),
        async () => heartbeat.stop(),
        () => leaveGroupIfIdle(redis, partitions, config, logger),
        () => Promise.all(readers.map((r) => r.quit().catch(() => r.disconnect()))),
        () => redis.quit().catch(() => redis.disconnect()),
        () => new Promise<void>((resolve) => server.close(() => resolve())),
      ];
      // Every step runs even when one fails.
      for (const step of steps) {
        await step().catch((error) => logger.warn({ err: error }, 'shutdown step failed'));
      }
      logger.info('worker stopped');
    })();
    return closing;
  };
  return { server, healthUrl: `http://127.0.0.1:${port}`, close };
}

/** A consumer leaves the group only when it holds nothing pending: deleting it would drop its entries. */
async function leaveGroupIfIdle(redis: RedisClient, partitions: readonly PartitionKeys[], config: Config, logger: Logger): Promise<void> {
  for (const keys of partitions) {
    // One partition failing (its stream removed by a partition count change, say) must not keep the others.
    const outcome = await removeConsumer(redis, keys, config.consumerGroup, config.workerConsumerName, 'leaving').catch(
      (error: Error) => error.message,
    );
    if (outcome === 'has-pending') logger.warn({ stream: keys.stream }, 'leaving entries pending for another worker to take over');
    else if (outcome !== 'removed' && outcome !== 'alive') logger.warn({ stream: keys.stream, err: outcome }, 'could not leave the group');
  }
}

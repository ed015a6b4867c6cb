/** Starts a worker: one consumer per partition stream, plus its health server. */
import Koa from 'koa';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Config } from '../shared/config';
import { healthRouter } from '../shared/health-routes';
import { registerPipelineGauges } from '../shared/pipeline-gauges';
import { allPartitionKeys } from '../shared/keys';
import type { Logger } from '../shared/logger';
import { checkReadiness } from '../shared/readiness';
import { connectOrFail, createRedisClient, type RedisClient } from '../shared/redis';
import { ensureGroups } from '../shared/stream-groups';
import { DeadLetterQueue } from '../shared/dead-letter-queue';
import { AggregateStore } from './aggregate-store';
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
  const redis = createRedisClient(config, { connectionName: `worker:${config.workerConsumerName}` });
  await connectOrFail(redis, 10_000);
  await ensureGroups(redis, partitions, config.consumerGroup);
  const metrics = createWorkerMetrics();
  const store = new AggregateStore(redis, config.consumerGroup, config.workerConsumerName);
  const deadLetters = new DeadLetterQueue(config, redis);
  const maintenance = new Maintenance(config, redis, partitions, deadLetters, logger);
  registerPipelineGauges(metrics.registry, redis, config.keyPrefix);
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
  for (const consumer of consumers) consumer.start();
  await maintenance.start();

  let draining = false;
  const staleAfterMs = Math.max(30_000, config.workerBlockMs * 5);
  const app = new Koa();
  app.silent = true;
  app.use(
    healthRouter({
      // A loop that stopped going round, or a partition this worker holds stuck, needs a restart.
      alive: () => consumers.every((c) => Date.now() - c.heartbeat < staleAfterMs && !c.stalled()),
      readiness: () => checkReadiness(redis, partitions, config.consumerGroup, draining),
      registry: metrics.registry,
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
      const steps: (() => Promise<unknown>)[] = [
        () => Promise.all(consumers.map((c) => c.stop())),
        () => maintenance.close(),
        () => deadLetters.close(),
        () =>
          leaveGroupIfIdle(
            redis,
            partitions.map((p) => p.stream),
            config,
            logger,
          ),
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
async function leaveGroupIfIdle(redis: RedisClient, streams: string[], config: Config, logger: Logger): Promise<void> {
  for (const stream of streams) {
    const pending = (await redis.xpending(stream, config.consumerGroup, '-', '+', 1, config.workerConsumerName)) as unknown[];
    if (pending.length === 0) await redis.xgroup('DELCONSUMER', stream, config.consumerGroup, config.workerConsumerName);
    else logger.warn({ stream }, 'leaving entries pending for another worker to take over');
  }
}

/**
 * `nodeagg partitions show|set N|keys`: the partition count of the data. Unlike the other
 * commands it talks to Redis directly (REDIS_URL, KEY_PREFIX, CONSUMER_GROUP from the
 * environment, as the services read them): changing the count is an operator's procedure,
 * described in docs/RUNBOOK.md. `keys` only computes: the stream keys of a count (their hash
 * tags depend on it), for the KEDA triggers (docs/DEPLOYMENT.md).
 */
import { Command, Option } from 'commander';
import { ConfigError, loadConfig, type Config } from '../../shared/config';
import { DeadLetterQueue } from '../../shared/dead-letter-queue';
import { changePartitionCount, PartitionChangeError } from '../partition-change';
import { readPartitionState } from '../../shared/store/partition-count';
import { allPartitionKeys } from '../../shared/store/keys';
import { slotOfKey } from '../../shared/store/partition-tag';
import { connectOrFail, createRedisClient, type RedisClient } from '../../shared/redis';
import { durationMs, integerIn } from '../arg-parsers';
import { CliError, EXIT, usageError } from '../cli-error';
import { globalsOf } from '../global-options';
import { printJson, printLine } from '../output';

function environmentConfig(): Config {
  try {
    return loadConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError) throw usageError(error.message.replace(/\n\s*/g, ' '));
    throw error;
  }
}

async function withRedis<T>(use: (redis: RedisClient, config: Config) => Promise<T>): Promise<T> {
  const config = environmentConfig();
  // Long enough for the scans and moves of a large fleet.
  const redis = createRedisClient(
    { ...config, redisCommandTimeoutMs: Math.max(config.redisCommandTimeoutMs, 30_000) },
    {
      connectionName: 'nodeagg-partitions',
    },
  );
  try {
    await connectOrFail(redis, 10_000);
  } catch (error) {
    redis.disconnect();
    const where = config.redisClusterNodes ? 'REDIS_CLUSTER_NODES' : 'REDIS_URL';
    throw new CliError(`cannot reach Redis at ${where}: ${(error as Error).message}`, EXIT.unreachable);
  }
  try {
    return await use(redis, config);
  } finally {
    await redis.quit().catch(() => redis.disconnect());
  }
}

export function partitionsCommand(): Command {
  const command = new Command('partitions').description(
    'show or change the partition count of the data (talks to Redis: REDIS_URL or REDIS_CLUSTER_NODES, KEY_PREFIX, CONSUMER_GROUP)',
  );
  command
    .command('show')
    .description('the recorded partition count and any change in progress')
    .action(async (_options, self: Command) => {
      const { json } = globalsOf(self);
      await withRedis(async (redis, config) => {
        const state = await readPartitionState(redis, config.keyPrefix);
        if (json) printJson(state);
        else {
          printLine(`partitions: ${state.recorded ?? 'not recorded yet'}`);
          if (state.change) printLine(`change in progress: ${state.change.from} -> ${state.change.to} since ${state.change.started_at}`);
        }
      });
    });
  command
    .command('set')
    .description('pause ingest, drain every stream, move the data to N partitions, record N, resume (docs/RUNBOOK.md)')
    .argument('<count>', 'the new partition count (1-1024)', integerIn(1, 1024))
    .addOption(
      new Option('--drain-timeout <duration>', 'longest wait for the workers to drain the streams (e.g. 10m)')
        .default(600_000, '10m')
        .argParser(durationMs),
    )
    .action(async (count: number, options: { drainTimeout: number }, self: Command) => {
      const { json } = globalsOf(self);
      await withRedis(async (redis, config) => {
        const deadLetters = new DeadLetterQueue(config, redis);
        const waiting = await deadLetters.count().finally(() => deadLetters.close());
        if (waiting > 0) {
          throw new CliError(
            `the dead-letter queue holds ${waiting} entries, which name their old partition: replay or purge them first (nodeagg dlq)`,
            EXIT.serviceError,
          );
        }
        try {
          const report = await changePartitionCount(redis, count, {
            prefix: config.keyPrefix,
            group: config.consumerGroup,
            drainTimeoutMs: options.drainTimeout,
            log: (line) => (json ? undefined : printLine(line)),
          });
          if (json) printJson(report);
          else if (report.unknownKeys.length > 0) printLine(`left in place (unknown keys): ${report.unknownKeys.join(', ')}`);
        } catch (error) {
          if (error instanceof PartitionChangeError) throw new CliError(error.message, EXIT.serviceError);
          throw error;
        }
      });
    });
  command
    .command('keys')
    .description('the partition stream keys for a count (KEY_PREFIX; the count defaults to STREAM_PARTITIONS), e.g. for KEDA triggers')
    .addOption(new Option('--count <n>', 'the partition count (1-1024)').argParser(integerIn(1, 1024)))
    .action((options: { count?: number }, self: Command) => {
      const { json } = globalsOf(self);
      const config = environmentConfig();
      const partitions = allPartitionKeys(config.keyPrefix, options.count ?? config.streamPartitions);
      if (json) printJson(partitions.map((keys) => ({ partition: keys.partition, stream: keys.stream, slot: slotOfKey(keys.stream) })));
      else for (const keys of partitions) printLine(keys.stream);
    });
  return command;
}

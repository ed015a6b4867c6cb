/** A config for one test file: its own key prefix on the suite's Redis, quiet logs, fast loops. */
import { randomBytes } from 'node:crypto';
import { loadConfig, type Config } from '../../shared/config';
import { createLogger } from '../../shared/logger';
import { createRedisClient, type RedisClient } from '../../shared/redis';
import { scanKeys } from '../../shared/store/server-nodes';

export function testEnv(overrides: Record<string, string> = {}): Record<string, string> {
  return {
    REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    // Set by a cluster test (test/cluster/) for the scenarios it runs: they then use its cluster.
    REDIS_CLUSTER_NODES: process.env.REDIS_CLUSTER_NODES ?? '',
    KEY_PREFIX: `t${randomBytes(5).toString('hex')}`,
    INGEST_HOST: '127.0.0.1',
    INGEST_PORT: '0',
    WORKER_HEALTH_PORT: '0',
    WORKER_BLOCK_MS: '100',
    LOG_LEVEL: 'silent',
    ...overrides,
  };
}

export function testConfig(overrides: Record<string, string> = {}): Config {
  return loadConfig(testEnv(overrides));
}

export const quietLogger = createLogger('test', 'silent');

export function testRedis(config: Config): RedisClient {
  const client = createRedisClient(config, { connectionName: 'test' });
  return client;
}

/** Deletes every key of a test's prefix (never FLUSHALL on a shared server), one key a command (any cluster slot). */
export async function deletePrefix(redis: RedisClient, prefix: string): Promise<void> {
  for await (const keys of scanKeys(redis, `${prefix}:*`)) await Promise.all(keys.map((key) => redis.unlink(key)));
}

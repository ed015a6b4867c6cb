/**
 * Rebuilds dist/ when a source is newer (child-process tests run dist/), then finds a Redis
 * for the suite: REDIS_URL if set, else a private redis-server on a free port, else a
 * testcontainers Redis when a Docker engine answers. Says which.
 */
import { join } from 'node:path';
import { redisServerAvailable, startPrivateRedis } from '../launcher/private-redis';
import { rebuildIfStale } from './support/build-freshness';

export default async function globalSetup(): Promise<void> {
  const root = join(__dirname, '..');
  if (rebuildIfStale(root)) console.log('\n[tests] dist/ was older than the sources: rebuilt it (npm run build)');
  if (process.env.REDIS_URL) {
    console.log(`\n[tests] using REDIS_URL=${process.env.REDIS_URL.replace(/:[^:@/]*@/, ':***@')}`);
    return;
  }
  if (redisServerAvailable()) {
    const redis = await startPrivateRedis();
    (globalThis as Record<string, unknown>).__testRedis = redis;
    process.env.REDIS_URL = redis.url;
    console.log(`\n[tests] started a private redis-server at ${redis.url}`);
    return;
  }
  try {
    const { GenericContainer, Wait } = await import('testcontainers');
    const container = await new GenericContainer('redis:7-alpine')
      .withExposedPorts(6379)
      .withWaitStrategy(Wait.forLogMessage('Ready to accept connections'))
      .start();
    (globalThis as Record<string, unknown>).__testContainer = container;
    process.env.REDIS_URL = `redis://${container.getHost()}:${container.getMappedPort(6379)}`;
    console.log(`\n[tests] started a Redis container at ${process.env.REDIS_URL}`);
  } catch (error) {
    throw new Error(
      `No Redis for the tests: REDIS_URL is unset, redis-server is not installed, and no Docker engine answered (${(error as Error).message}). Install redis-server or set REDIS_URL.`,
    );
  }
}

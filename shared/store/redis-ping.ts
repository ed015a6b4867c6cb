/** Whether Redis answers: the readiness check of both services, and the launcher's look at REDIS_URL. */
import { createProbeClient, type RedisClient } from '../redis';

/** Resolves when Redis answers PING; rejects with the client's error (readiness shows its message). */
export async function pingRedis(redis: RedisClient): Promise<void> {
  await redis.ping();
}

/**
 * One connection attempt, no retries: whether a Redis answers at `url` now. A missing one
 * costs at most `connectTimeoutMs`; the connection is closed either way.
 */
export async function redisAnswersAt(url: string, connectTimeoutMs = 1500): Promise<boolean> {
  const client = createProbeClient(url, connectTimeoutMs);
  try {
    await client.connect();
    return (await client.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

/**
 * The dead-letter queue talks to Redis through BullMQ's own connection, which queues
 * commands while Redis is away instead of failing. Its callers in ingest answer 503 at once
 * when ingest's own connection to the same Redis is down, and within a bound otherwise.
 */
import { DependencyUnavailableError } from '../shared/errors';
import type { IngestDeps } from './deps';

export async function withDeadLetterDeadline<T>(deps: IngestDeps, operation: () => Promise<T>): Promise<T> {
  const unavailable = () => new DependencyUnavailableError('Redis is unavailable; retry later.');
  if (deps.redis.status !== 'ready') throw unavailable();
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      operation(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(unavailable()), 2 * deps.config.redisCommandTimeoutMs);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

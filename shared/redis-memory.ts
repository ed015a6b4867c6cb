/**
 * The Redis memory gauges both services export, read from INFO memory at most once per
 * MEMORY_READ_INTERVAL_MS however often /metrics is scraped.
 */
import { Gauge, type Registry } from 'prom-client';
import type { RedisClient } from './redis';
import { readRedisMemory, type RedisMemory } from './store/memory-info';

const MEMORY_READ_INTERVAL_MS = 5000;

export function registerRedisMemoryGauges(registry: Registry, redis: RedisClient): void {
  let last: { at: number; memory: Promise<RedisMemory | null> } | undefined;
  const memory = () => {
    if (!last || Date.now() - last.at > MEMORY_READ_INTERVAL_MS) {
      last = {
        at: Date.now(),
        memory: readRedisMemory(redis).catch(() => null),
      };
    }
    return last.memory;
  };
  new Gauge({
    name: 'nodeagg_redis_used_memory_bytes',
    help: 'Memory Redis uses (INFO memory used_memory); Redis refuses writes above nodeagg_redis_maxmemory_bytes.',
    registers: [registry],
    async collect() {
      const read = await memory();
      if (read) this.set(read.usedBytes);
    },
  });
  new Gauge({
    name: 'nodeagg_redis_maxmemory_bytes',
    help: 'Redis maxmemory (0 = no limit).',
    registers: [registry],
    async collect() {
      const read = await memory();
      if (read) this.set(read.maxBytes);
    },
  });
}

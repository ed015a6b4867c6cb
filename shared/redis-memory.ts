/**
 * Redis memory pressure: recognising Redis's refusal to write at maxmemory (policy
 * noeviction), and the memory gauges both services export, read from INFO memory at most
 * once per MEMORY_READ_INTERVAL_MS however often /metrics is scraped.
 */
import { Gauge, type Registry } from 'prom-client';
import type { RedisClient } from './redis';

const MEMORY_READ_INTERVAL_MS = 5000;

/** Redis refused a command because used memory is over maxmemory (the command did not run). */
export function isOutOfMemory(error: unknown): boolean {
  return /\bOOM command not allowed\b/.test((error as Error)?.message ?? '');
}

export interface RedisMemory {
  usedBytes: number;
  /** 0 = no limit */
  maxBytes: number;
}

export function parseInfoMemory(info: string): RedisMemory {
  const field = (name: string) => Number(new RegExp(`^${name}:(\\d+)`, 'm').exec(info)?.[1] ?? 0);
  return { usedBytes: field('used_memory'), maxBytes: field('maxmemory') };
}

export function registerRedisMemoryGauges(registry: Registry, redis: RedisClient): void {
  let last: { at: number; memory: Promise<RedisMemory | null> } | undefined;
  const memory = () => {
    if (!last || Date.now() - last.at > MEMORY_READ_INTERVAL_MS) {
      last = {
        at: Date.now(),
        memory: redis
          .info('memory')
          .then(parseInfoMemory)
          .catch(() => null),
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

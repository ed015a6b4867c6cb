/** Redis's memory use and limit, from INFO memory. */
import type { RedisClient } from '../redis';

export interface RedisMemory {
  usedBytes: number;
  /** 0 = no limit */
  maxBytes: number;
}

export function parseInfoMemory(info: string): RedisMemory {
  const field = (name: string) => Number(new RegExp(`^${name}:(\\d+)`, 'm').exec(info)?.[1] ?? 0);
  return { usedBytes: field('used_memory'), maxBytes: field('maxmemory') };
}

export async function readRedisMemory(redis: RedisClient): Promise<RedisMemory> {
  return parseInfoMemory(await redis.info('memory'));
}

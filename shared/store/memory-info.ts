/** Redis's memory use and limit, from INFO memory (on a cluster: of the fullest master). */
import type { RedisClient } from '../redis';
import { masterNodes } from './server-nodes';

export interface RedisMemory {
  usedBytes: number;
  /** 0 = no limit */
  maxBytes: number;
}

export function parseInfoMemory(info: string): RedisMemory {
  const field = (name: string) => Number(new RegExp(`^${name}:(\\d+)`, 'm').exec(info)?.[1] ?? 0);
  return { usedBytes: field('used_memory'), maxBytes: field('maxmemory') };
}

/** How full a server is: its share of maxmemory, or its bytes when it has no limit. */
function fullness(memory: RedisMemory): number {
  return memory.maxBytes > 0 ? memory.usedBytes / memory.maxBytes : memory.usedBytes / Number.MAX_SAFE_INTEGER;
}

/**
 * The memory of the one Redis, or of the cluster's fullest master: the first to refuse
 * writes (each master has its own maxmemory).
 */
export async function readRedisMemory(redis: RedisClient): Promise<RedisMemory> {
  const all = await Promise.all(masterNodes(redis).map(async (node) => parseInfoMemory(await node.info('memory'))));
  if (all.length === 0) throw new Error('no Redis master is known yet');
  return all.reduce((fullest, memory) => (fullness(memory) > fullness(fullest) ? memory : fullest));
}

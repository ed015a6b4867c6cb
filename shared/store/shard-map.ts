/**
 * Which shard of a Redis Cluster holds a key: its slot (CLUSTER KEYSLOT, remembered: a
 * key's slot never changes) and the master serving that slot now (CLUSTER SLOTS).
 */
import { isCluster, type RedisClient } from '../redis';

export interface Shard {
  /** `host:port` of the master, as the cluster announces it. */
  address: string;
  node_id: string;
  slot: number;
}

type SlotRange = [start: number, end: number, master: [host: string, port: number, id: string, ...unknown[]], ...unknown[]];

const slots = new Map<string, number>();

async function slotOf(redis: RedisClient, key: string): Promise<number> {
  let slot = slots.get(key);
  if (slot === undefined) {
    slot = Number(await redis.call('CLUSTER', 'KEYSLOT', key));
    slots.set(key, slot);
  }
  return slot;
}

/** Per key, the shard that holds it; all null on one Redis. */
export async function shardsOf(redis: RedisClient, keys: readonly string[]): Promise<(Shard | null)[]> {
  if (!isCluster(redis)) return keys.map(() => null);
  const [ranges, keySlots] = await Promise.all([
    redis.call('CLUSTER', 'SLOTS') as Promise<SlotRange[]>,
    Promise.all(keys.map((key) => slotOf(redis, key))),
  ]);
  return keySlots.map((slot) => {
    const range = ranges.find(([start, end]) => slot >= start && slot <= end);
    if (!range) return null; // an unserved slot: the cluster is down there
    const [host, port, id] = range[2];
    return { address: `${host}:${port}`, node_id: String(id), slot };
  });
}

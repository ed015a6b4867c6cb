/**
 * Which shard of a Redis Cluster holds a key: its slot (computed here, as the cluster
 * computes it) and the master serving that slot now (CLUSTER SLOTS).
 */
import { isCluster, type RedisClient } from '../redis';
import { slotOfKey } from './partition-tag';

export interface Shard {
  /** `host:port` of the master, as the cluster announces it. */
  address: string;
  node_id: string;
  slot: number;
}

type SlotRange = [start: number, end: number, master: [host: string, port: number, id: string, ...unknown[]], ...unknown[]];

/** Per key, the shard that holds it; all null on one Redis. */
export async function shardsOf(redis: RedisClient, keys: readonly string[]): Promise<(Shard | null)[]> {
  if (!isCluster(redis)) return keys.map(() => null);
  const ranges = (await redis.call('CLUSTER', 'SLOTS')) as SlotRange[];
  return keys.map(slotOfKey).map((slot) => {
    const range = ranges.find(([start, end]) => slot >= start && slot <= end);
    if (!range) return null; // an unserved slot: the cluster is down there
    const [host, port, id] = range[2];
    return { address: `${host}:${port}`, node_id: String(id), slot };
  });
}

/** Reads totals straight from the aggregate buckets, to count every sample after a fault. */
import { allPartitionKeys, nodeOfSecondField } from '../../shared/store/keys';
import type { RedisClient } from '../../shared/redis';
import { decodeBucket, storedBuckets } from '../../shared/store/bucket-codec';
import { scanKeys as scanServerKeys } from '../../shared/store/server-nodes';

export interface Totals {
  samples: number;
  cpuSeconds: number;
  memSeconds: number;
}

/** Every key matching `pattern`, by SCAN (never KEYS), on every master of a cluster. */
export async function scanKeys(redis: RedisClient, pattern: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const page of scanServerKeys(redis, pattern)) keys.push(...page);
  return keys;
}

/** Sums the fleet's 1-second node buckets over every partition. */
export async function fleetTotals(redis: RedisClient, prefix: string, partitions: number): Promise<Totals> {
  const totals: Totals = { samples: 0, cpuSeconds: 0, memSeconds: 0 };
  for (const p of allPartitionKeys(prefix, partitions)) {
    const keys = await scanKeys(
      redis,
      p
        .fleetFine(0)
        .replace(/0$/, '*')
        .replace(/[{}]/g, (c) => `\\${c}`),
    );
    for (const key of keys) {
      for (const b of storedBuckets(await redis.hgetallBuffer(key))) {
        totals.samples += b.samples;
        totals.cpuSeconds += b.cpu_seconds;
        totals.memSeconds += b.mem_seconds;
      }
    }
  }
  return totals;
}

/** Sample count per node from the per-node buckets (every minute's hash of the nodes' partitions). */
export async function perNodeCounts(redis: RedisClient, prefix: string, partitions: number, nodes: string[]): Promise<Map<string, number>> {
  const counts = new Map<string, number>(nodes.map((node) => [node, 0]));
  const { partitionOf } = await import('../../shared/partition');
  const all = allPartitionKeys(prefix, partitions);
  for (const p of new Set(nodes.map((node) => all[partitionOf(node, partitions)]!))) {
    const pattern = p
      .nodeSeconds(0)
      .replace(/0$/, '*')
      .replace(/[{}]/g, (c) => `\\${c}`);
    for (const key of await scanKeys(redis, pattern)) {
      for (const [field, value] of Object.entries(await redis.hgetallBuffer(key))) {
        const node = nodeOfSecondField(field);
        if (node !== undefined && counts.has(node)) counts.set(node, counts.get(node)! + decodeBucket(value).samples);
      }
    }
  }
  return counts;
}

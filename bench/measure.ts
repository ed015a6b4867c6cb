/** The measurements of one configuration: closed-loop batch ingest, drain timing, aggregate counts, Redis memory. */
import Redis from 'ioredis';
import { allPartitionKeys } from '../shared/store/keys';
import { storedBuckets } from '../shared/store/bucket-codec';
import { SyntheticFleet } from '../cli/load/synthetic-fleet';

export const PREFIX = 'bench';
export const PARTITIONS = 4;

export interface PipelineTotals {
  lag: number;
  pending: number;
}

/** Waits until every partition's entries are delivered and acknowledged; answers when that was seen. `token` '' = the API is open. */
export async function drain(url: string, token: string, timeoutMs = 300_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
    const response = await fetch(`${url}/v1/pipeline`, { headers });
    // A 503 (Redis too busy to answer in time) says nothing about the drain: ask again.
    const view = response.ok ? ((await response.json()) as { totals: PipelineTotals }) : undefined;
    if (view && view.totals.lag === 0 && view.totals.pending === 0) return performance.now();
    if (Date.now() > deadline) {
      const state = view ? `lag ${view.totals.lag}, pending ${view.totals.pending}` : `the last answer was ${response.status}`;
      throw new Error(`the pipeline did not drain within ${timeoutMs} ms (${state})`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * Samples in the aggregates: node samples from the fleet's 1-second buckets, process samples from
 * the all-processes ones. On a cluster, pass every master: each one's SCAN sees only its own keys.
 */
export async function aggregatedSamples(redis: Redis | Redis[], kind: 'node' | 'process', partitions = PARTITIONS): Promise<number> {
  if (Array.isArray(redis)) {
    const counts = await Promise.all(redis.map((server) => aggregatedSamples(server, kind, partitions)));
    return counts.reduce((a, b) => a + b, 0);
  }
  let n = 0;
  for (const p of allPartitionKeys(PREFIX, partitions)) {
    const key = kind === 'node' ? p.fleetFine(0) : p.allProcessesFine(0);
    const pattern = key.replace(/0$/, '*').replace(/[{}]/g, (c) => `\\${c}`);
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      cursor = next;
      for (const key of keys) for (const bucket of storedBuckets(await redis.hgetallBuffer(key))) n += bucket.samples;
    } while (cursor !== '0');
  }
  return n;
}

export interface RedisMemory {
  usedBytes: number;
  streamBytes: number;
  keys: number;
}

export async function redisMemory(redis: Redis): Promise<RedisMemory> {
  const info = await redis.info('memory');
  const usedBytes = Number(/used_memory:(\d+)/.exec(info)?.[1]);
  let streamBytes = 0;
  for (const p of allPartitionKeys(PREFIX, PARTITIONS))
    streamBytes += Number((await redis.call('MEMORY', 'USAGE', p.stream, 'SAMPLES', '0')) ?? 0);
  return { usedBytes, streamBytes, keys: await redis.dbsize() };
}

export interface ClosedLoopResult {
  accepted: number;
  acceptedNode: number;
  rejected: number;
  requests: number;
  statuses: Record<string, number>;
}

/** `concurrency` senders, each posting the next batch as soon as the previous one is answered. */
export async function closedLoop(
  url: string,
  fleet: SyntheticFleet,
  options: { concurrency: number; batch: number; seconds?: number; total?: number; token: string },
): Promise<ClosedLoopResult> {
  const result: ClosedLoopResult = { accepted: 0, acceptedNode: 0, rejected: 0, requests: 0, statuses: {} };
  const end = options.seconds === undefined ? Infinity : performance.now() + options.seconds * 1000;
  let remaining = options.total ?? Infinity;
  const sender = async () => {
    while (performance.now() < end && remaining > 0) {
      const n = Math.min(options.batch, remaining);
      remaining -= n;
      const slice = fleet.next(n);
      for (;;) {
        const response = await fetch(`${url}/v1/samples`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${options.token}` },
          body: slice.body,
        });
        await response.arrayBuffer();
        result.requests += 1;
        result.statuses[response.status] = (result.statuses[response.status] ?? 0) + 1;
        if (response.status === 202) {
          result.accepted += n;
          result.acceptedNode += slice.nodeSamples;
          break;
        }
        // Backpressure: a well-behaved client waits and sends the same batch again.
        if (response.status === 503 && options.total !== undefined) {
          await new Promise((r) => setTimeout(r, 50));
          continue;
        }
        result.rejected += n;
        if (response.status === 503) await new Promise((r) => setTimeout(r, 50));
        break;
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, sender));
  return result;
}

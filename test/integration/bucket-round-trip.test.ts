/**
 * TypeScript -> Redis -> TypeScript for every kind of stored aggregate: deltas planned in
 * TypeScript, applied on a real Redis (two batches, so the second merges into what the first
 * stored) both ways the store applies them, through the apply-batch script (its Lua merge, as
 * on a cluster) and as a transaction (the TypeScript merge, on one Redis), read back through
 * the store's readers and compared, bit for bit, with what the bucket codec computes.
 */
import { AggregateStore, type ApplyMethod } from '../../shared/store/batch-apply';
import { MAX_SCRIPT_ARGS } from '../../shared/store/apply-plan';
import { EXPIRY_FIELD, mergeInto, sampleBucket, type BucketStats } from '../../shared/store/bucket-codec';
import { decodeNodeSummary } from '../../shared/store/summary-codec';
import {
  coarseBucketOf,
  coarseChunkExpiry,
  coarseChunkOf,
  fineBucketOf,
  fineChunkOf,
  nodeSecondField,
  nodeSecondsChunkExpiry,
  nodeSecondsChunkOf,
} from '../../shared/store/keys';
import { AggregateReader, readBuckets } from '../../shared/store/window-reads';
import type { RedisClient } from '../../shared/redis';
import type { NodeSample, ProcessSample, Sample } from '../../shared/samples';
import { summarize } from '../../shared/window';
import { baseTime } from '../support/build-sample';
import { onePartitionStore } from '../support/one-partition-store';

/** What the buckets of `batches` hold when each batch's delta merges into the stored one. */
function expectedBucket(batches: readonly (readonly Sample[])[], select: (s: Sample) => boolean, extremes: boolean): BucketStats {
  let stored: BucketStats | undefined;
  for (const batch of batches) {
    let delta: BucketStats | undefined;
    for (const s of batch.filter(select)) {
      const [cpu, mem] = s.kind === 'node' ? [s.cpu, s.mem] : [s.cpu_used, s.mem_used];
      const one = sampleBucket(cpu, mem, s.timeslice, s.at, extremes);
      if (delta === undefined) delta = one;
      else mergeInto(delta, one);
    }
    if (delta === undefined) continue;
    if (stored === undefined) stored = delta;
    else mergeInto(stored, delta);
  }
  return stored!;
}

describe.each<ApplyMethod>(['script', 'transaction'])('bucket round trip, applied by %s', (method) => {
  const partition = onePartitionStore();
  const { config, keys } = partition;
  let redis: RedisClient;
  beforeAll(() => (redis = partition.redis()));

  test('every bucket kind reads back exactly what TypeScript computes, after two merging applies', async () => {
    const t = Math.floor(baseTime() / 60_000) * 60_000 + 30_000;
    // Values with long binary expansions, so any rounding through text would show.
    const node = (name: string, at: number, cpu: number, mem: number, timeslice: number): NodeSample => ({
      kind: 'node',
      node: name,
      at,
      timeslice,
      cpu,
      mem,
    });
    const proc = (process: string, host: string, at: number, cpu: number, mem: number): ProcessSample => ({
      kind: 'process',
      node: host,
      process,
      at,
      timeslice: 0.7,
      cpu_used: cpu,
      mem_used: mem,
    });
    const first: Sample[] = [
      node('web-1', t, 0.1, 1 / 3, 0.3),
      node('web-1', t + 400, 33.3, 2 / 7, 1.1),
      node('db-1', t + 100, 99.99, 1e-9, 0.25),
      proc('nginx', 'web-1', t, 0.1, 123.456),
      proc('nginx', 'db-1', t + 200, 1 / 3, 7e-5),
    ];
    const second: Sample[] = [
      node('web-1', t + 700, 0.2, 5 / 3, 0.9),
      node('web-1', t - 3000, 77.7, 0.01, 2),
      node('db-1', t + 900, 12.345, 99.5, 0.6),
      proc('nginx', 'web-1', t + 800, 2 / 9, 0.3),
      proc('postgres', 'db-1', t + 500, 55.5, 1 / 11),
    ];
    const store = new AggregateStore(redis, config.consumerGroup, 'round-trip', () => t + 1000, MAX_SCRIPT_ARGS, method);
    for (const batch of [first, second]) {
      const id = await partition.deliver('round-trip', batch);
      expect(await store.applyBatch(keys, [{ id, samples: batch }])).toEqual({ applied: 1, skipped: 0, samples: batch.length });
    }
    const batches = [first, second];
    const fine = fineBucketOf(t);
    const inFine = (s: Sample) => fineBucketOf(s.at) === fine;
    const isNode = (name?: string) => (s: Sample) => s.kind === 'node' && (name === undefined || s.node === name);
    const isProcess = (name?: string) => (s: Sample) => s.kind === 'process' && (name === undefined || s.process === name);
    const both = (a: (s: Sample) => boolean, b: (s: Sample) => boolean) => (s: Sample) => a(s) && b(s);

    const [fleetFine, fleetCoarse, webFine, dbFine, nginxFine, allProcessesCoarse] = (
      await readBuckets(redis, [
        { key: keys.fleetFine(fineChunkOf(fine)), fields: [fine] },
        { key: keys.fleetCoarse(coarseChunkOf(coarseBucketOf(t))), fields: [coarseBucketOf(t)] },
        { key: keys.nodeSeconds(nodeSecondsChunkOf(fine)), fields: [nodeSecondField(fine, 'web-1')] },
        { key: keys.nodeSeconds(nodeSecondsChunkOf(fine)), fields: [nodeSecondField(fine, 'db-1')] },
        { key: keys.processFine(fineChunkOf(fine), 'nginx'), fields: [fine] },
        { key: keys.allProcessesCoarse(coarseChunkOf(coarseBucketOf(t))), fields: [coarseBucketOf(t)] },
      ])
    ).map((values) => values[0]);
    // Sum buckets.
    expect(fleetFine).toEqual(expectedBucket(batches, both(isNode(), inFine), false));
    expect(fleetCoarse).toEqual(expectedBucket(batches, isNode(), false));
    expect(nginxFine).toEqual(expectedBucket(batches, both(isProcess('nginx'), inFine), false));
    expect(allProcessesCoarse).toEqual(expectedBucket(batches, isProcess(), false));
    // Buckets with extremes.
    expect(webFine).toEqual(expectedBucket(batches, both(isNode('web-1'), inFine), true));
    expect(dbFine).toEqual(expectedBucket(batches, both(isNode('db-1'), inFine), true));
    expect(webFine!.cpu_min).toBe(0.1);
    expect(webFine!.mem_max).toBe(5 / 3);

    // A window read combines what it reads exactly as summarize does on the TypeScript buckets.
    const reader = new AggregateReader(redis, [keys], () => t + 1000);
    const window = await reader.fleetAverage(60);
    const latest = t + 900;
    // (t lies mid-minute: the 60 s window reads 1-second buckets before the minute, the minute bucket within it.)
    expect(window).toEqual(summarize([expectedBucket(batches, isNode(), false)], latest, 60));

    // Node summary: the latest sample and the first time seen.
    const web = decodeNodeSummary((await redis.hgetBuffer(keys.nodeSummaries, 'web-1'))!);
    expect({ last_at: web.last_at, cpu: web.cpu, mem: web.mem, timeslice: web.timeslice, first_at: web.first_at }).toEqual({
      last_at: t + 700,
      cpu: 0.2,
      mem: 5 / 3,
      timeslice: 0.9,
      first_at: t - 3000,
    });
    // A hash table from its first node on (its marker field outgrows a listpack value): a listpack would scan per field.
    expect(await redis.object('ENCODING', keys.nodeSummaries)).toBe('hashtable');
    expect(await redis.hlen(keys.nodeSummaries)).toBe(3); // web-1, db-1 and the marker
    // The summary hash lives as long as the coarse buckets after the last apply (a node leaves it with the node list).
    expect(Number(await redis.call('EXPIRETIME', keys.nodeSummaries))).toBe(Math.ceil((t + 1000 + 25 * 3600_000) / 1000));

    // Sorted sets of latest times, and the node name index.
    // The transaction writes a node's time when it starts a new minute (node-times.ts): both samples stayed in the first's.
    expect(await redis.zrange(keys.nodes, 0, -1, 'WITHSCORES')).toEqual(
      method === 'script' ? ['web-1', String(t + 700), 'db-1', String(t + 900)] : ['db-1', String(t + 100), 'web-1', String(t + 400)],
    );
    expect(await redis.zrange(keys.fleetLatest, 0, -1, 'WITHSCORES')).toEqual(['latest', String(t + 900)]);
    expect(await redis.zrange(keys.nodeNames, 0, -1, 'WITHSCORES')).toEqual(['db-1', '0', 'web-1', '0']);
    expect(await redis.zrange(keys.processes, 0, -1, 'WITHSCORES')).toEqual(['postgres', String(t + 500), 'nginx', String(t + 800)]);
    expect(await redis.zrange(keys.processNodes('nginx'), 0, -1, 'WITHSCORES')).toEqual([
      'db-1',
      String(t + 200),
      'web-1',
      String(t + 800),
    ]);
    expect(await redis.zrange(keys.nodeProcesses('db-1'), 0, -1, 'WITHSCORES')).toEqual([
      'nginx',
      String(t + 200),
      'postgres',
      String(t + 500),
    ]);

    // Bucket hashes expire with their chunk, set once and recorded in the hash.
    for (const [key, expiry] of [
      [keys.nodeSeconds(nodeSecondsChunkOf(fine)), nodeSecondsChunkExpiry(nodeSecondsChunkOf(fine))],
      [keys.fleetCoarse(coarseChunkOf(coarseBucketOf(t))), coarseChunkExpiry(coarseChunkOf(coarseBucketOf(t)))],
    ] as const) {
      expect(await redis.call('EXPIRETIME', key)).toBe(expiry);
      expect(await redis.hget(key, EXPIRY_FIELD)).toBe(String(expiry));
    }
  });

  test('a tie in time goes to the later apply, and an older sample changes only the first time seen', async () => {
    const t = baseTime();
    const apply = async (now: number, sample: NodeSample) => {
      const store = new AggregateStore(redis, config.consumerGroup, 'summary-merge', () => now, MAX_SCRIPT_ARGS, method);
      const id = await partition.deliver('summary-merge', [sample]);
      expect(await store.applyBatch(keys, [{ id, samples: [sample] }])).toEqual({ applied: 1, skipped: 0, samples: 1 });
      return decodeNodeSummary((await redis.hgetBuffer(keys.nodeSummaries, 'lagging'))!);
    };
    const sample = (at: number, cpu: number): NodeSample => ({ kind: 'node', node: 'lagging', at, timeslice: 1, cpu, mem: 1 });
    const first = await apply(t + 1000, sample(t, 10));
    const second = await apply(t + 1000, sample(t + 500, 20));
    expect(second).toEqual({ ...first, last_at: t + 500, cpu: 20 });
    const tie = await apply(t + 1000, sample(t + 500, 30));
    expect(tie).toEqual({ ...first, last_at: t + 500, cpu: 30 });
    // An older sample changes only the first time seen.
    const older = await apply(t + 1000, sample(t - 60_000, 40));
    expect(older).toEqual({ ...tie, first_at: t - 60_000 });
  });

  test("thousands of nodes' seconds in one apply are read and merged a chunk at a time, each exactly", async () => {
    // A minute of its own (the other tests write the current one).
    const t = Math.floor(baseTime() / 60_000) * 60_000 - 10 * 60_000 + 10_000;
    // 2,500 nodes: the minute's hash takes 2,500 fields in one call (chunks of 1,000), twice.
    const names = Array.from({ length: 2500 }, (_, i) => `wide-${i}`);
    const batches = [0, 1].map((round) =>
      names.map((name, i): NodeSample => ({
        kind: 'node',
        node: name,
        at: t + 100 * round,
        timeslice: 1 + round,
        cpu: i / 7,
        mem: round + i / 3,
      })),
    );
    for (const [round, batch] of batches.entries()) {
      const store = new AggregateStore(redis, config.consumerGroup, 'wide', () => t + 1000 * (round + 1), MAX_SCRIPT_ARGS, method);
      const id = await partition.deliver('wide', batch);
      expect(await store.applyBatch(keys, [{ id, samples: batch }])).toEqual({ applied: 1, skipped: 0, samples: batch.length });
    }
    const second = fineBucketOf(t);
    const key = keys.nodeSeconds(nodeSecondsChunkOf(second));
    const [stored] = await readBuckets(redis, [{ key, fields: names.map((name) => nodeSecondField(second, name)) }]);
    stored!.forEach((bucket, i) => {
      expect({ node: names[i], bucket }).toEqual({
        node: names[i],
        bucket: expectedBucket(batches, (s) => s.kind === 'node' && s.node === names[i], true),
      });
    });
    expect(await redis.hlen(key)).toBe(names.length + 1); // and the expiry record
    expect(await redis.call('EXPIRETIME', key)).toBe(nodeSecondsChunkExpiry(nodeSecondsChunkOf(second)));
  });
});

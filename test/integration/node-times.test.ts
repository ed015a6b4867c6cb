/**
 * A node's time in the node set (keys.nodes) and the fleet's latest time (keys.fleetLatest),
 * both ways the store applies: the transaction writes a node's time only when its sample
 * starts a new minute of the node's (node-times.ts), the script on every sample; fleet
 * windows end at the exact latest node sample either way.
 */
import { AggregateStore, type ApplyMethod } from '../../shared/store/batch-apply';
import { MAX_SCRIPT_ARGS } from '../../shared/store/apply-plan';
import { NODE_TIME_STEP_MS } from '../../shared/store/node-times';
import { AggregateReader } from '../../shared/store/window-reads';
import type { RedisClient } from '../../shared/redis';
import type { NodeSample } from '../../shared/samples';
import { baseTime } from '../support/build-sample';
import { onePartitionStore } from '../support/one-partition-store';

describe.each<ApplyMethod>(['script', 'transaction'])('node times, applied by %s', (method) => {
  const partition = onePartitionStore();
  const { config, keys } = partition;
  let redis: RedisClient;
  beforeAll(() => (redis = partition.redis()));
  beforeEach(() => partition.reset());

  // A minute of its own, 5 s in: every sample below but the last stays within it.
  const minute = Math.floor(baseTime() / NODE_TIME_STEP_MS) * NODE_TIME_STEP_MS - 5 * NODE_TIME_STEP_MS;
  const sample = (node: string, second: number, cpu: number): NodeSample => ({
    kind: 'node',
    node,
    at: minute + second * 1000,
    timeslice: 1,
    cpu,
    mem: 1,
  });
  const applyEach = async (samples: readonly NodeSample[]) => {
    const store = new AggregateStore(redis, config.consumerGroup, 'node-times', () => minute + 120_000, MAX_SCRIPT_ARGS, method);
    for (const one of samples) {
      const id = await partition.deliver('node-times', [one]);
      expect(await store.applyBatch(keys, [{ id, samples: [one] }])).toEqual({ applied: 1, skipped: 0, samples: 1 });
    }
  };
  const score = async (node: string) => Number(await redis.zscore(keys.nodes, node));
  const reader = () => new AggregateReader(redis, [keys], () => minute + 120_000);

  test("a node's time moves when its sample starts a new minute; the fleet's latest time on every sample", async () => {
    await applyEach([sample('steady', 5, 10), sample('steady', 10, 20), sample('steady', 30, 30)]);
    // The script writes every time; the transaction the first of the minute. Either lies within the minute of the latest.
    expect(await score('steady')).toBe(method === 'script' ? minute + 30_000 : minute + 5_000);
    expect(Number(await redis.zscore(keys.fleetLatest, 'latest'))).toBe(minute + 30_000);
    // A 1-second window ends at the latest sample, not at the node set's time.
    expect(await reader().fleetAverage(1)).toMatchObject({ cpu: 30, samples: 1 });

    await applyEach([sample('steady', 65, 40)]);
    expect(await score('steady')).toBe(minute + 65_000);
    expect(await reader().fleetAverage(1)).toMatchObject({ cpu: 40, samples: 1 });
  });

  test('an older sample moves neither time, and a new node is written at once', async () => {
    await applyEach([sample('steady', 30, 10), sample('steady', -70, 20), sample('newcomer', 31, 30)]);
    expect(await score('steady')).toBe(minute + 30_000);
    expect(await score('newcomer')).toBe(minute + 31_000);
    expect(await redis.zrange(keys.nodeNames, 0, -1)).toEqual(['newcomer', 'steady']);
    expect(Number(await redis.zscore(keys.fleetLatest, 'latest'))).toBe(minute + 31_000);
  });

  test("data written before the fleet's latest time was kept: windows end at the node set's highest time", async () => {
    await applyEach([sample('steady', 5, 10), sample('steady', 10, 20)]);
    await redis.del(keys.fleetLatest);
    // The transaction left the node at the first sample of its minute: at most a minute early.
    expect(await reader().fleetAverage(1)).toMatchObject({ cpu: method === 'script' ? 20 : 10, samples: 1 });
    await redis.del(keys.nodes);
    expect(await reader().fleetAverage(1)).toBeNull();
  });

  test('an empty node set is an empty fleet, whatever the latest time says', async () => {
    await applyEach([sample('steady', 5, 10)]);
    await redis.zrem(keys.nodes, 'steady');
    expect(await reader().fleetAverage(60)).toBeNull();
  });
});

describe.each<ApplyMethod>(['script', 'transaction'])('a node back after the retention, applied by %s', (method) => {
  const partition = onePartitionStore();
  const { config, keys } = partition;
  let redis: RedisClient;
  beforeAll(() => (redis = partition.redis()));

  test('stays known with its new sample, though the same apply forgets what else went silent', async () => {
    const now = Math.floor(baseTime() / 1000) * 1000;
    const day = 26 * 3600_000;
    const sample = (node: string, at: number): NodeSample => ({ kind: 'node', node, at, timeslice: 1, cpu: 1, mem: 1 });
    const apply = async (atMs: number, samples: NodeSample[]) => {
      const store = new AggregateStore(redis, config.consumerGroup, 'returning', () => atMs, MAX_SCRIPT_ARGS, method);
      const id = await partition.deliver('returning', samples);
      expect(await store.applyBatch(keys, [{ id, samples }])).toEqual({ applied: 1, skipped: 0, samples: samples.length });
    };
    // Both seen a day and more ago; then only 'returning' posts again.
    await apply(now - day, [sample('returning', now - day), sample('silent', now - day)]);
    await apply(now, [sample('returning', now)]);
    expect(await redis.zrange(keys.nodes, 0, -1)).toEqual(['returning']);
    expect(await redis.zrange(keys.nodeNames, 0, -1)).toEqual(['returning']);
    expect(await redis.hexists(keys.nodeSummaries, 'returning')).toBe(1);
    expect(await redis.hexists(keys.nodeSummaries, 'silent')).toBe(0);
  });
});

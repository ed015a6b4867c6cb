/**
 * Fleet queries read their buckets with the latest time, in one round trip, once the query
 * has seen the latest; a latest that moved to other buckets is read again, and every answer is
 * the one a reader with nothing remembered gives. A node's detail reads its three windows at once.
 */
import { AggregateStore } from '../../shared/store/batch-apply';
import { MAX_SCRIPT_ARGS } from '../../shared/store/apply-plan';
import { fineBucketOf, fineChunkOf } from '../../shared/store/keys';
import { AggregateReader } from '../../shared/store/window-reads';
import { NodeReader } from '../../ingest/node-reader';
import type { RedisClient } from '../../shared/redis';
import type { NodeSample } from '../../shared/samples';
import { onePartitionStore } from '../support/one-partition-store';
import { countRoundTrips, type RoundTrips } from '../support/round-trips';

const partition = onePartitionStore();
const { config, keys } = partition;
let redis: RedisClient;
let trips: RoundTrips;
beforeAll(() => {
  redis = partition.redis();
  trips = countRoundTrips(redis);
});
beforeEach(() => partition.reset());

// The hour before this one (its 1-second buckets are kept two hours after it ends, by the real
// clock): the first samples lie 10 minutes into it, the later ones an hour on.
const hour = Math.floor(Date.now() / 3_600_000) * 3_600_000 - 3_600_000;
const start = hour + 10 * 60_000;
const now = () => start + 3_600_000 + 20 * 60_000;
const sample = (at: number, cpu: number): NodeSample => ({ kind: 'node', node: 'n1', at, timeslice: 1, cpu, mem: 50 });

async function apply(...samples: NodeSample[]): Promise<void> {
  const store = new AggregateStore(redis, config.consumerGroup, 'round-trips', now, MAX_SCRIPT_ARGS, 'script');
  for (const one of samples) {
    const id = await partition.deliver('round-trips', [one]);
    await store.applyBatch(keys, [{ id, samples: [one] }]);
  }
}

/** What a reader that remembers nothing answers. */
const fresh = () => new AggregateReader(redis, [keys], now);

async function measured<T>(work: () => Promise<T>): Promise<T> {
  trips.reset();
  return work();
}

test('the first query reads the latest, then its buckets; a repeated one reads both at once', async () => {
  await apply(sample(start, 10), sample(start + 1000, 20));
  const reader = new AggregateReader(trips.client, [keys], now);

  expect(await measured(() => reader.fleetAverage(5))).toMatchObject({ cpu: 15, samples: 2 });
  expect(trips.of('zrange')).toEqual([0]);
  expect(trips.of('hmget')).toEqual([1]);

  expect(await measured(() => reader.fleetAverage(5))).toMatchObject({ cpu: 15, samples: 2 });
  expect(trips.of('zrange')).toEqual([0]);
  expect(trips.of('hmget')).toEqual([0]);

  // The latest moved within the window's buckets: still one round trip, and the new sample counts.
  await apply(sample(start + 1500, 60));
  expect(await measured(() => reader.fleetAverage(5))).toEqual(await fresh().fleetAverage(5));
  expect(trips.of('hmget')).toEqual([0]);
});

test('a latest that moved to other buckets is read again, and answers as a reader that remembers nothing', async () => {
  await apply(sample(start, 10), sample(start + 1000, 20));
  const reader = new AggregateReader(trips.client, [keys], now);
  expect(await reader.fleetAverage(5)).toMatchObject({ cpu: 15, samples: 2 });

  // Ten seconds on, the 5-second window holds other buckets (and the one new sample alone).
  await apply(sample(start + 11_000, 30), sample(start + 12_000, 30));
  const answer = await measured(() => reader.fleetAverage(5));
  expect(answer).toMatchObject({ cpu: 30, samples: 2 });
  expect(answer).toEqual(await fresh().fleetAverage(5));
  expect(trips.of('hmget')).toEqual([0, 1]);

  // And again: the remembered latest is the one found last.
  expect(await measured(() => reader.fleetAverage(5))).toEqual(answer);
  expect(trips.of('hmget')).toEqual([0]);
});

test("the chart's series reads its buckets with the latest once the latest is known", async () => {
  await apply(sample(start, 10), sample(start + 1000, 20), sample(start + 2000, 30));
  const reader = new AggregateReader(trips.client, [keys], now);
  const first = await measured(() => reader.fleetSeries(10, 5));
  expect(first).toEqual(await fresh().fleetSeries(10, 5));
  expect(first?.points.reduce((sum, p) => sum + p.samples, 0)).toBe(3);
  expect(trips.of('hmget')).toEqual([1]);
  // The fleet's queries share one latest: the average, asked next, needs one round trip too.
  expect(await measured(() => reader.fleetAverage(5))).toMatchObject({ samples: 3 });
  expect(trips.of('hmget')).toEqual([0]);
  expect(await measured(() => reader.fleetSeries(10, 5))).toEqual(first);
  expect(trips.of('hmget')).toEqual([0]);
});

test('an early read that fails costs the query nothing: the buckets of the latest found are read again', async () => {
  await apply(sample(start, 10), sample(start + 1000, 20));
  const reader = new AggregateReader(trips.client, [keys], now);
  expect(await reader.fleetAverage(5)).toMatchObject({ cpu: 15 });
  // The remembered latest's hour now holds a key of the wrong type; the latest moves an hour on.
  const rememberedChunk = keys.fleetFine(fineChunkOf(fineBucketOf(start)));
  await redis.del(rememberedChunk);
  await redis.set(rememberedChunk, 'not a hash');
  await apply(sample(start + 3_600_000, 40), sample(start + 3_601_000, 40));
  expect(fineChunkOf(fineBucketOf(start + 3_600_000))).not.toBe(fineChunkOf(fineBucketOf(start)));

  expect(await measured(() => reader.fleetAverage(5))).toMatchObject({ cpu: 40, samples: 2 });
  expect(trips.of('hmget')).toEqual([0, 1]);
});

test('a fleet emptied since the last query answers null, whatever was remembered', async () => {
  await apply(sample(start, 10));
  const reader = new AggregateReader(trips.client, [keys], now);
  expect(await reader.fleetAverage(5)).not.toBeNull();
  await redis.del(keys.nodes, keys.fleetLatest);
  expect(await reader.fleetAverage(5)).toBeNull();
  expect(await reader.fleetSeries(60, 1)).toBeNull();
});

test("a node's detail reads its summary, then its three windows in one round trip", async () => {
  await apply(sample(start, 10), sample(start + 1000, 20));
  const detail = await measured(() => new NodeReader(trips.client, [keys]).detail('n1'));
  expect(detail?.windows['1m']).toMatchObject({ samples: 2 });
  expect(detail).toEqual(await new NodeReader(redis, [keys]).detail('n1'));
  expect(trips.of('hget')).toEqual([0]);
  expect(trips.of('hmget')).toEqual([1]);
});

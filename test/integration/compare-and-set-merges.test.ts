/**
 * Compare-and-set merges (shared/store/known-values.ts, apply-batch.lua's quads): a worker
 * that knows what a field holds merges the delta itself, and Redis writes the result only
 * when the field still holds that value. Each scenario runs beside a partition whose every
 * merge is Redis's own, and the two must hold the same bytes.
 */
import { AggregateStore } from '../../shared/store/batch-apply';
import { KnownValues, type FieldName, type MergedKind } from '../../shared/store/known-values';
import { MAX_SCRIPT_ARGS } from '../../shared/store/apply-plan';
import type { PartitionKeys } from '../../shared/store/keys';
import type { NodeSample, ProcessSample, Sample } from '../../shared/samples';
import { baseTime } from '../support/build-sample';
import { onePartitionStore, type OnePartitionStore } from '../support/one-partition-store';

/** Known values that count the fields they could tell, by kind. */
class CountingKnownValues extends KnownValues {
  readonly toldOf: Record<MergedKind, number> = { bucket: 0, summary: 0 };
  get told(): number {
    return this.toldOf.bucket + this.toldOf.summary;
  }
  override get(kind: MergedKind, key: string, field: FieldName): Buffer | undefined {
    const value = super.get(kind, key, field);
    if (value !== undefined) this.toldOf[kind]++;
    return value;
  }
}

/** Every hash of the partition (bucket hashes, summaries, the stream's bookkeeping aside), by key name after the prefix. */
async function storedHashes(partition: OnePartitionStore): Promise<Map<string, Record<string, Buffer>>> {
  const redis = partition.redis();
  const prefix = partition.keys.named('');
  const out = new Map<string, Record<string, Buffer>>();
  for (const key of (await redis.keys(`${prefix}*`)).sort()) {
    if (key === partition.keys.meta || (await redis.type(key)) !== 'hash') continue;
    out.set(key.slice(prefix.length), await redis.hgetallBuffer(key));
  }
  return out;
}

function batches(t: number): Sample[][] {
  const node = (name: string, at: number, cpu: number, mem: number): NodeSample => ({
    kind: 'node',
    node: name,
    at,
    timeslice: 0.7,
    cpu,
    mem,
  });
  const proc = (host: string, at: number, cpu: number): ProcessSample => ({
    kind: 'process',
    node: host,
    process: 'nginx',
    at,
    timeslice: 0.3,
    cpu_used: cpu,
    mem_used: 1 / 3,
  });
  // The same nodes, seconds and process in every batch, so each batch merges into the last;
  // values with long binary expansions, a tie in time and an older sample.
  return [
    [node('web-1', t, 0.1, 1 / 3), node('db-1', t + 100, 99.99, 1e-9), proc('web-1', t, 0.1)],
    [node('web-1', t + 400, 33.3, 2 / 7), node('db-1', t + 100, 1 / 7, 5), proc('web-1', t + 300, 1 / 3)],
    [node('web-1', t + 700, 0.2, 5 / 3), node('db-1', t - 2000, 7.7, 0.01), proc('db-1', t + 10, 2e-7)],
  ];
}

async function apply(partition: OnePartitionStore, store: AggregateStore, consumer: string, samples: Sample[]): Promise<void> {
  const id = await partition.deliver(consumer, samples);
  expect(await store.applyBatch(partition.keys, [{ id, samples }])).toEqual({ applied: 1, skipped: 0, samples: samples.length });
}

describe('compare-and-set merges', () => {
  const reference = onePartitionStore();
  const partition = onePartitionStore();
  const t = Math.floor(baseTime() / 60_000) * 60_000 + 30_000;
  const now = () => t + 5000;
  /** A worker whose every merge is Redis's own. */
  const mergingInRedis = (p: OnePartitionStore, name: string) =>
    new AggregateStore(p.redis(), p.config.consumerGroup, name, now, MAX_SCRIPT_ARGS, null);

  beforeEach(async () => {
    await reference.reset();
    await partition.reset();
  });

  test("the worker's own merges write what Redis's merges write, byte for byte, in every kind of field", async () => {
    const known = new CountingKnownValues();
    const worker = new AggregateStore(partition.redis(), partition.config.consumerGroup, 'knowing', now, MAX_SCRIPT_ARGS, known);
    const plain = mergingInRedis(reference, 'plain');
    for (const batch of batches(t)) {
      await apply(partition, worker, 'knowing', batch);
      await apply(reference, plain, 'plain', batch);
    }
    // Summaries are known from their first write, buckets once merged (the second batch):
    // the third batch sends quads for node seconds, fleet and process buckets too.
    expect(known.toldOf.summary).toBe(4);
    expect(known.toldOf.bucket).toBeGreaterThanOrEqual(6);
    expect(await storedHashes(partition)).toEqual(await storedHashes(reference));
  });

  test('a value another worker changed meanwhile costs a merge in Redis, never a wrong aggregate, and the answer teaches the worker', async () => {
    const known = new CountingKnownValues();
    const worker = new AggregateStore(partition.redis(), partition.config.consumerGroup, 'knowing', now, MAX_SCRIPT_ARGS, known);
    const other = mergingInRedis(partition, 'other');
    const plain = mergingInRedis(reference, 'plain');
    const [first, second, third] = batches(t);
    await apply(partition, worker, 'knowing', first!);
    // Another worker applies the second batch: what the first knows of those fields is stale now.
    await apply(partition, other, 'other', second!);
    const toldBefore = known.told;
    await apply(partition, worker, 'knowing', third!);
    expect(known.told).toBeGreaterThan(toldBefore);
    for (const batch of [first!, second!, third!]) await apply(reference, plain, 'plain', batch);
    expect(await storedHashes(partition)).toEqual(await storedHashes(reference));
    // The call answered the values Redis merged: the worker knows them now.
    const summary = await partition.redis().hgetBuffer(partition.keys.nodeSummaries, 'web-1');
    expect(known.get('summary', partition.keys.nodeSummaries, 'web-1')).toEqual(summary);
  });

  test('a call that fails forgets its fields: a lost reply leaves what they hold unknown', async () => {
    const known = new KnownValues();
    const worker = new AggregateStore(partition.redis(), partition.config.consumerGroup, 'knowing', now, MAX_SCRIPT_ARGS, known);
    const [first, second] = batches(t);
    await apply(partition, worker, 'knowing', first!);
    const keys: PartitionKeys = partition.keys;
    expect(known.get('summary', keys.nodeSummaries, 'web-1')).toBeDefined();
    // A summary of another size makes the call fail before it writes anything.
    await partition.redis().hset(keys.nodeSummaries, 'web-1', 'not a summary');
    const id = await partition.deliver('knowing', second!);
    await expect(worker.applyBatch(keys, [{ id, samples: second! }])).rejects.toThrow(/holds a summary of 13 bytes/);
    expect(known.get('summary', keys.nodeSummaries, 'web-1')).toBeUndefined();
    expect(known.get('summary', keys.nodeSummaries, 'db-1')).toBeUndefined();
  });
});

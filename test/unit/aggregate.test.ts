import { partitionKeys } from '../../shared/store/keys';
import { partitionOf } from '../../shared/partition';
import { groupWithinBound, MAX_SCRIPT_ARGS, MAX_WIDTH_PER_SAMPLE, planBatch, type ApplyPlan } from '../../shared/store/apply-plan';
import { decodeBucket, type BucketStats } from '../../shared/store/bucket-codec';
import type { Sample } from '../../shared/samples';
import { decodeToken, encodeToken } from '../../ingest/consistency-token';
import { compareIds } from '../../shared/stream-ids';

/** The plan's bucket keys section (after the type checks) as key -> field -> delta (fields that are numbers as numbers). */
function bucketDeltas(plan: ApplyPlan): Map<string, Map<number | string, BucketStats>> {
  const out = new Map<string, Map<number | string, BucketStats>>();
  const s = plan.sections;
  let i = 1 + 2 * Number(s[0]);
  const count = Number(s[i++]);
  for (let k = 0; k < count; k++) {
    const key = String(s[i]);
    const m = Number(s[i + 2]);
    const buckets = new Map<number | string, BucketStats>();
    for (let f = 0; f < m; f++) {
      const field = s[i + 3 + 2 * f]!;
      buckets.set(typeof field === 'number' ? field : String(field), decodeBucket(s[i + 4 + 2 * f] as Buffer));
    }
    out.set(key, buckets);
    i += 3 + 2 * m;
  }
  return out;
}

describe('batch planning', () => {
  const keys = partitionKeys('na', 2, 4);
  const at = Date.UTC(2026, 0, 1, 10, 0, 5);

  test('samples in the same bucket fold into one delta per bucket', () => {
    const plan = planBatch(
      [
        { kind: 'node', node: 'a', at, timeslice: 10, cpu: 10, mem: 20 },
        { kind: 'node', node: 'b', at, timeslice: 30, cpu: 50, mem: 60 },
        { kind: 'node', node: 'a', at: at + 300, timeslice: 1, cpu: 70, mem: 5 },
      ],
      keys,
      at,
    );
    const deltas = bucketDeltas(plan);
    expect([...deltas.get(keys.fleetFine(Math.floor(at / 3600000)))!]).toEqual([
      [
        at / 1000,
        {
          cpu_seconds: 10 * 10 + 50 * 30 + 70,
          mem_seconds: 20 * 10 + 60 * 30 + 5,
          seconds: 41,
          samples: 3,
          covers_from_ms: at - 30_000,
          last_sample_ms: at + 300,
        },
      ],
    ]);
    expect(deltas.get(keys.nodeSeconds(Math.floor(at / 60_000)))!.get(`5:a`)).toEqual({
      cpu_seconds: 170,
      mem_seconds: 205,
      seconds: 11,
      samples: 2,
      covers_from_ms: at - 10_000,
      last_sample_ms: at + 300,
      cpu_min: 10,
      cpu_max: 70,
      mem_min: 5,
      mem_max: 20,
    });
    expect([...plan.keyTypes.keys()].every((k) => k.startsWith('na:{p2of4-1}:'))).toBe(true);
    expect(plan.keyTypes.get(keys.nodes)).toBe('zset');
    expect(plan.keyTypes.get(keys.nodeSummaries)).toBe('hash');
  });
});

describe('planning lookups', () => {
  const keys = partitionKeys('na', 1, 4);
  const hourStart = Date.UTC(2026, 0, 1, 10, 59, 58);

  test('samples that switch between chunks, processes and nodes land in their own hashes, as one by one', () => {
    // Back and forth across an hour (fine chunks), a day (coarse chunks) and a minute (node hashes).
    const times = [hourStart, hourStart + 3_000, hourStart, hourStart + 13 * 3_600_000, hourStart + 1_000, hourStart + 3_000];
    const samples: Sample[] = [];
    times.forEach((at, i) => {
      for (const node of ['a', 'b']) {
        samples.push({ kind: 'node', node, at, timeslice: 1, cpu: i + 1, mem: 1 });
        for (const process of ['p', 'q']) samples.push({ kind: 'process', node, process, at, timeslice: 1, cpu_used: i + 1, mem_used: 1 });
      }
    });
    // The reference: each sample's keys and fields named from scratch, counted one by one.
    const expected = new Map<string, number>();
    const count = (key: string, field: number | string) => expected.set(`${key} ${field}`, (expected.get(`${key} ${field}`) ?? 0) + 1);
    for (const sample of samples) {
      const fine = Math.floor(sample.at / 1000);
      const coarse = Math.floor(sample.at / 60_000);
      const fineChunk = Math.floor(sample.at / 3_600_000);
      const coarseChunk = Math.floor(sample.at / 86_400_000);
      if (sample.kind === 'node') {
        count(keys.fleetFine(fineChunk), fine);
        count(keys.fleetCoarse(coarseChunk), coarse);
        count(keys.nodeSeconds(Math.floor(sample.at / 60_000)), `${fine % 60}:${sample.node}`);
      } else {
        count(keys.processFine(fineChunk, sample.process), fine);
        count(keys.processCoarse(coarseChunk, sample.process), coarse);
        count(keys.allProcessesFine(fineChunk), fine);
        count(keys.allProcessesCoarse(coarseChunk), coarse);
      }
    }
    // Planned whole, and in groups small enough that planning starts over between entries.
    const entries = samples.map((sample) => [sample]);
    for (const plans of [
      [planBatch(samples, keys, hourStart)],
      groupWithinBound(entries, (s) => s, keys, hourStart, 200).map((g) => (g.oversized ? undefined : g.plan)),
    ]) {
      const planned = new Map<string, number>();
      for (const plan of plans) {
        for (const [key, buckets] of bucketDeltas(plan!)) {
          for (const [field, delta] of buckets) planned.set(`${key} ${field}`, (planned.get(`${key} ${field}`) ?? 0) + delta.samples);
        }
      }
      expect(new Map([...planned].sort())).toEqual(new Map([...expected].sort()));
    }
  });
});

describe('bounded script calls', () => {
  const keys = partitionKeys('na', 0, 4);
  const at = Date.UTC(2026, 0, 1, 10, 0, 5);
  const width = (samples: readonly Sample[]) => {
    return planBatch(samples, keys, at).sections.length;
  };
  const entry = (n: number, offset: number): Sample[] =>
    Array.from({ length: n }, (_, i) => ({
      kind: 'process',
      node: `n${offset}`,
      process: `p${offset + i}`,
      at,
      timeslice: 1,
      cpu_used: 1,
      mem_used: 1,
    }));

  test('entries are grouped, between entries, into calls that stay within the bound', () => {
    const entries = Array.from({ length: 60 }, (_, e) => entry(40, e * 40));
    const groups = groupWithinBound(entries, (s) => s, keys, at, 2000);
    expect(groups.flatMap((g) => g.items)).toEqual(entries);
    expect(groups.length).toBeGreaterThan(1);
    for (const g of groups) {
      expect(g.oversized).toBe(false);
      expect(width(g.items.flat())).toBeLessThanOrEqual(2000);
      // Each group comes planned, as planning its samples afresh would plan it.
      if (!g.oversized) expect(g.plan).toEqual(planBatch(g.items.flat(), keys, at));
    }
  });

  test('one sample of either kind, every key new, adds at most MAX_WIDTH_PER_SAMPLE arguments', () => {
    const node: Sample = { kind: 'node', node: 'n', at, timeslice: 1, cpu: 1, mem: 1 };
    const empty = width([]);
    expect(width([node]) - empty).toBeLessThanOrEqual(MAX_WIDTH_PER_SAMPLE);
    expect(width(entry(1, 0)) - empty).toBeLessThanOrEqual(MAX_WIDTH_PER_SAMPLE);
  });

  test('an entry wider than the bound alone is marked oversized, and its samples split into parts within it', () => {
    const big = entry(3000, 0);
    const groups = groupWithinBound([entry(5, 90_000), big, entry(5, 95_000)], (s) => s, keys, at);
    expect(groups.map((g) => g.oversized)).toEqual([false, true, false]);
    const parts = groupWithinBound(big, (s) => [s], keys, at);
    expect(parts.flatMap((p) => p.items)).toEqual(big);
    for (const part of parts) expect(width(part.items)).toBeLessThanOrEqual(MAX_SCRIPT_ARGS);
  });
});

describe('partitioning and tokens', () => {
  test('a node always maps to the same partition, and nodes spread', () => {
    expect(partitionOf('web-1', 4)).toBe(partitionOf('web-1', 4));
    const used = new Set(Array.from({ length: 100 }, (_, i) => partitionOf(`node-${i}`, 4)));
    expect(used.size).toBe(4);
  });

  test('tokens round-trip and ids compare numerically', () => {
    const positions = [
      { partition: 0, id: '1700000000000-12' },
      { partition: 3, id: '5-0' },
    ];
    expect(decodeToken(encodeToken(positions), 4)).toEqual(positions);
    expect(compareIds('10-0', '9-5')).toBe(1);
    expect(compareIds('9-10', '9-9')).toBe(1);
    expect(compareIds('9-9', '9-9')).toBe(0);
  });
});

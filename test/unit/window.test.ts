import { selectBuckets, summarize } from '../../shared/window';
import type { BucketStats } from '../../shared/store/bucket-codec';

const bucket = (
  cpu_seconds: number,
  mem_seconds: number,
  seconds: number,
  samples: number,
  covers_from_ms: number,
  last_sample_ms: number,
): BucketStats => ({
  cpu_seconds,
  mem_seconds,
  seconds,
  samples,
  covers_from_ms,
  last_sample_ms,
});

describe('window arithmetic (README, Window semantics)', () => {
  const now = Date.UTC(2026, 0, 1, 12, 0, 0);

  test('short windows read 1-second buckets at the leading edge and whole minutes inside', () => {
    const latest = now - 5_000; // 11:59:55
    const selection = selectBuckets(latest, 120, now);
    const fine = selection.filter((s) => s.resolution === 'fine').flatMap((s) => s.buckets);
    const coarse = selection.filter((s) => s.resolution === 'coarse').flatMap((s) => s.buckets);
    // edge 11:57:55 -> fine 11:57:55..11:57:59, minutes 11:58 and 11:59
    expect(fine).toEqual([0, 1, 2, 3, 4].map((i) => (latest - 120_000) / 1000 + i));
    expect(coarse).toEqual([(now - 120_000) / 60_000, (now - 60_000) / 60_000]);
  });

  test('a window inside one minute reads only 1-second buckets up to the latest', () => {
    const latest = now - 30_000;
    const selection = selectBuckets(latest, 10, now);
    expect(selection).toHaveLength(1);
    expect(selection[0]!.resolution).toBe('fine');
    expect(selection[0]!.buckets).toHaveLength(11);
  });

  test('windows over an hour, or older than fine retention, read minute buckets only', () => {
    expect(selectBuckets(now, 7200, now).every((s) => s.resolution === 'coarse')).toBe(true);
    expect(selectBuckets(now - 3 * 3600_000, 60, now).every((s) => s.resolution === 'coarse')).toBe(true);
  });

  test('buckets whose latest sample is at or before the edge are left out', () => {
    const latest = 100_000;
    const inside = bucket(100, 200, 10, 1, 85000, 95000);
    const atEdge = bucket(999, 999, 10, 1, 30000, 40000);
    const result = summarize([inside, atEdge, undefined], latest, 60);
    expect(result).toMatchObject({ timeslice: 15, cpu: 10, mem: 20, samples: 1 });
  });

  test('the answered timeslice is capped by the window', () => {
    const b = bucket(10, 10, 100, 1, 0, 100000);
    expect(summarize([b], 100_000, 30).timeslice).toBe(30);
  });

  test('no bucket means timeslice 0 and null means', () => {
    expect(summarize([], 1000, 60)).toMatchObject({ timeslice: 0, cpu: null, mem: null, samples: 0 });
  });
});

/** The benchmark's reading of the workers' apply delay histogram over a phase (bench/apply-delay.ts). */
import { applyDelaysBetween, type DelayBuckets } from '../../bench/apply-delay';

const buckets = (pairs: [number, number][]): DelayBuckets => new Map(pairs);

describe('apply delays between two readings', () => {
  test('counts only the phase, and interpolates within a bucket as histogram_quantile does', () => {
    const before = buckets([
      [0.01, 5],
      [0.05, 5],
      [0.1, 5],
      [Infinity, 5],
    ]);
    // The phase adds 100 entries: 50 up to 10 ms, 40 in (10, 50] ms, 10 in (50, 100] ms.
    const after = buckets([
      [0.01, 55],
      [0.05, 95],
      [0.1, 105],
      [Infinity, 105],
    ]);
    const delays = applyDelaysBetween(before, after);
    expect(delays.entries).toBe(100);
    expect(delays.p50Ms).toBeCloseTo(10, 6); // the 50th of 100 is the last of the first bucket
    expect(delays.p99Ms).toBeCloseTo(50 + (50 * 9) / 10, 6);
  });

  test('a quantile in the +Inf bucket is the highest finite bound; no entries, no quantiles', () => {
    const after = buckets([
      [0.01, 10],
      [1, 90],
      [Infinity, 100],
    ]);
    expect(applyDelaysBetween(new Map(), after).p99Ms).toBe(1000);
    expect(applyDelaysBetween(after, after)).toEqual({ entries: 0, p50Ms: null, p99Ms: null });
  });
});

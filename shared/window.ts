/**
 * Window arithmetic (README, "Window semantics and resolution") over time buckets: which buckets a window reads, and how
 * they combine into time-weighted means. Pure functions, no I/O.
 *
 * A window `?timeslice=q` ending at T holds the samples with T - q < t <= T. Windows of up
 * to one hour read 1-second buckets at their leading edge and whole 1-minute buckets
 * inside; longer (or older) windows read 1-minute buckets only. A bucket counts when its
 * latest sample lies inside the window, so results are exact except for samples within
 * one bucket of the window's leading edge.
 */
import {
  coarseBucketOf,
  coarseChunkOf,
  COARSE_BUCKET_MS,
  fineBucketOf,
  fineChunkOf,
  FINE_BUCKET_MS,
  FINE_RETENTION_MS,
} from './store/keys';

/** Longest window answered from 1-second buckets. */
export const FINE_WINDOW_LIMIT_SECONDS = 3600;
/** Longest window a query may ask for (coarse retention). */
export const MAX_QUERY_WINDOW_SECONDS = 86400;

export interface BucketStats {
  /** sum(value1 * s), sum(value2 * s), sum(s), count */
  v1s: number;
  v2s: number;
  s: number;
  n: number;
  /** earliest t - s (ms) and latest t (ms) of the bucket's samples */
  lo: number;
  tmax: number;
  /** extremes, only on per-node buckets */
  min1?: number;
  max1?: number;
  min2?: number;
  max2?: number;
}

export interface BucketSelection {
  resolution: 'fine' | 'coarse';
  chunk: number;
  buckets: number[];
}

export interface WindowSummary {
  /** seconds the report covers: min(q, T - min(t - s)) */
  timeslice: number;
  mean1: number | null;
  mean2: number | null;
  samples: number;
  min1: number | null;
  max1: number | null;
  min2: number | null;
  max2: number | null;
}

export function parseBucket(packed: string): BucketStats {
  const v = packed.split(',').map(Number);
  const stats: BucketStats = { v1s: v[0]!, v2s: v[1]!, s: v[2]!, n: v[3]!, lo: v[4]!, tmax: v[5]! };
  if (v.length >= 10) {
    stats.min1 = v[6]!;
    stats.max1 = v[7]!;
    stats.min2 = v[8]!;
    stats.max2 = v[9]!;
  }
  return stats;
}

function pushRange(out: BucketSelection[], resolution: 'fine' | 'coarse', from: number, to: number): void {
  const chunkOf = resolution === 'fine' ? fineChunkOf : coarseChunkOf;
  for (let bucket = from; bucket <= to; bucket++) {
    const chunk = chunkOf(bucket);
    const last = out[out.length - 1];
    if (last && last.resolution === resolution && last.chunk === chunk) last.buckets.push(bucket);
    else out.push({ resolution, chunk, buckets: [bucket] });
  }
}

/** The buckets that hold the samples of the window (T - q, T]. */
export function selectBuckets(latestMs: number, windowSeconds: number, nowMs: number): BucketSelection[] {
  const edge = latestMs - windowSeconds * 1000;
  const out: BucketSelection[] = [];
  const fineAvailable = windowSeconds <= FINE_WINDOW_LIMIT_SECONDS && edge >= nowMs - FINE_RETENTION_MS + FINE_BUCKET_MS;
  const lastMinute = coarseBucketOf(latestMs);
  if (!fineAvailable) {
    pushRange(out, 'coarse', coarseBucketOf(edge), lastMinute);
    return out;
  }
  // Minutes that start after the edge lie wholly inside the window (nothing is later than T).
  const firstWholeMinute = Math.floor(edge / COARSE_BUCKET_MS) + 1;
  const fineEnd = Math.min(fineBucketOf(latestMs), (firstWholeMinute * COARSE_BUCKET_MS) / FINE_BUCKET_MS - 1);
  pushRange(out, 'fine', fineBucketOf(edge), fineEnd);
  if (firstWholeMinute <= lastMinute) pushRange(out, 'coarse', firstWholeMinute, lastMinute);
  return out;
}

/** Combines the buckets read for a window into its answer (README, "Window semantics"). */
export function summarize(buckets: readonly (BucketStats | undefined)[], latestMs: number, windowSeconds: number): WindowSummary {
  const edge = latestMs - windowSeconds * 1000;
  let v1s = 0;
  let v2s = 0;
  let s = 0;
  let n = 0;
  let lo = Infinity;
  let min1 = Infinity;
  let max1 = -Infinity;
  let min2 = Infinity;
  let max2 = -Infinity;
  for (const b of buckets) {
    if (b === undefined || b.tmax <= edge) continue;
    v1s += b.v1s;
    v2s += b.v2s;
    s += b.s;
    n += b.n;
    lo = Math.min(lo, b.lo);
    if (b.min1 !== undefined) {
      min1 = Math.min(min1, b.min1);
      max1 = Math.max(max1, b.max1!);
      min2 = Math.min(min2, b.min2!);
      max2 = Math.max(max2, b.max2!);
    }
  }
  if (n === 0 || s === 0) {
    return { timeslice: 0, mean1: null, mean2: null, samples: 0, min1: null, max1: null, min2: null, max2: null };
  }
  const finite = (x: number) => (Number.isFinite(x) ? x : null);
  return {
    timeslice: Math.min(windowSeconds, (latestMs - lo) / 1000),
    mean1: v1s / s,
    mean2: v2s / s,
    samples: n,
    min1: finite(min1),
    max1: finite(max1),
    min2: finite(min2),
    max2: finite(max2),
  };
}

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
import type { BucketStats } from './store/bucket-codec';
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

export interface BucketSelection {
  resolution: 'fine' | 'coarse';
  chunk: number;
  buckets: number[];
}

export interface WindowSummary {
  /** seconds the report covers: min(q, T - min(t - s)) */
  timeslice: number;
  /** time-weighted means (cpu_used and mem_used for processes) */
  cpu: number | null;
  mem: number | null;
  samples: number;
  /** extremes, from per-node buckets only */
  cpu_min: number | null;
  cpu_max: number | null;
  mem_min: number | null;
  mem_max: number | null;
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
  let cpuSeconds = 0;
  let memSeconds = 0;
  let seconds = 0;
  let samples = 0;
  let coversFrom = Infinity;
  let cpuMin = Infinity;
  let cpuMax = -Infinity;
  let memMin = Infinity;
  let memMax = -Infinity;
  for (const b of buckets) {
    if (b === undefined || b.last_sample_ms <= edge) continue;
    cpuSeconds += b.cpu_seconds;
    memSeconds += b.mem_seconds;
    seconds += b.seconds;
    samples += b.samples;
    coversFrom = Math.min(coversFrom, b.covers_from_ms);
    if (b.cpu_min !== undefined) {
      cpuMin = Math.min(cpuMin, b.cpu_min);
      cpuMax = Math.max(cpuMax, b.cpu_max!);
      memMin = Math.min(memMin, b.mem_min!);
      memMax = Math.max(memMax, b.mem_max!);
    }
  }
  if (samples === 0 || seconds === 0) {
    return { timeslice: 0, cpu: null, mem: null, samples: 0, cpu_min: null, cpu_max: null, mem_min: null, mem_max: null };
  }
  const finite = (x: number) => (Number.isFinite(x) ? x : null);
  return {
    timeslice: Math.min(windowSeconds, (latestMs - coversFrom) / 1000),
    cpu: cpuSeconds / seconds,
    mem: memSeconds / seconds,
    samples,
    cpu_min: finite(cpuMin),
    cpu_max: finite(cpuMax),
    mem_min: finite(memMin),
    mem_max: finite(memMax),
  };
}

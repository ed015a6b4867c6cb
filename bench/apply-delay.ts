/**
 * The workers' own freshness over a phase: `nodeagg_apply_delay_seconds` (per applied entry,
 * from its append to the apply that counted it), read from every worker before and after,
 * its quantiles interpolated within the buckets as Prometheus's histogram_quantile does. The
 * freshness probe times the same path from outside, through ingest and the generator's own
 * event loop; the difference between the two is what lies outside the workers.
 */
const METRIC = 'nodeagg_apply_delay_seconds';

/** Cumulative count per upper bound (seconds; Infinity for +Inf), summed over the workers. */
export type DelayBuckets = Map<number, number>;

export async function readApplyDelays(workerUrls: readonly string[], token: string): Promise<DelayBuckets> {
  const buckets: DelayBuckets = new Map();
  for (const url of workerUrls) {
    const response = await fetch(`${url}/metrics`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
    if (!response.ok) throw new Error(`${url}/metrics answered ${response.status}`);
    const text = await response.text();
    for (const match of text.matchAll(new RegExp(`^${METRIC}_bucket\\{[^}]*le="([^"]+)"[^}]*\\} ([\\d.e+]+)$`, 'gm'))) {
      const le = match[1] === '+Inf' ? Infinity : Number(match[1]);
      buckets.set(le, (buckets.get(le) ?? 0) + Number(match[2]));
    }
  }
  return buckets;
}

export interface ApplyDelays {
  entries: number;
  p50Ms: number | null;
  p99Ms: number | null;
}

/** The entries applied between two readings, and their p50 / p99 (null without entries). */
export function applyDelaysBetween(before: DelayBuckets, after: DelayBuckets): ApplyDelays {
  const bounds = [...after.keys()].sort((a, b) => a - b);
  const counts = bounds.map((le) => (after.get(le) ?? 0) - (before.get(le) ?? 0));
  const entries = counts.length > 0 ? counts[counts.length - 1]! : 0;
  const quantileMs = (q: number): number | null => {
    if (entries <= 0) return null;
    const rank = q * entries;
    for (let i = 0; i < bounds.length; i++) {
      if (counts[i]! < rank) continue;
      const upper = bounds[i]!;
      const lower = i === 0 ? 0 : bounds[i - 1]!;
      // In the +Inf bucket only the bound below it is known.
      if (upper === Infinity) return lower * 1000;
      const below = i === 0 ? 0 : counts[i - 1]!;
      const inBucket = counts[i]! - below;
      return (lower + ((upper - lower) * (rank - below)) / inBucket) * 1000;
    }
    return null;
  };
  return { entries, p50Ms: quantileMs(0.5), p99Ms: quantileMs(0.99) };
}

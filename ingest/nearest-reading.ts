/** Finds the reading nearest in time to another, by binary search: pairing n readings costs n log n, never n². */

export class NearestReading<T extends { timeMs: number }> {
  private readonly sorted: T[];

  constructor(readings: Iterable<T>) {
    this.sorted = [...readings].sort((a, b) => a.timeMs - b.timeMs);
  }

  /** The reading nearest to `timeMs`, if one lies within `withinMs`. */
  find(timeMs: number, withinMs: number): T | undefined {
    const s = this.sorted;
    let lo = 0;
    let hi = s.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (s[mid]!.timeMs < timeMs) lo = mid + 1;
      else hi = mid;
    }
    const after = s[lo];
    const before = lo > 0 ? s[lo - 1] : undefined;
    const best = !before ? after : !after ? before : timeMs - before.timeMs <= after.timeMs - timeMs ? before : after;
    return best !== undefined && Math.abs(best.timeMs - timeMs) <= withinMs ? best : undefined;
  }
}

/**
 * When a partition's applies send known values (compare-and-set merges, known-values.ts).
 * They pay when the compares hold: the worker is the only one applying to the partition's
 * fields, and its known values hold what it applies again. With other workers applying
 * to the same partition, or more fields than the known values keep, Redis merges most
 * fields itself anyway and the known values, and the answers that teach them, only add to
 * the call. Two such calls in a row pause a partition's use of known values for a while.
 */

/** A call whose fields Redis mostly merged itself, out of at least this many: a poor call. */
export const MIN_FIELDS_JUDGED = 32;
/** Calls of a partition without known values after two poor calls in a row. */
export const PAUSE_CALLS = 64;

interface PartitionUse {
  poorInARow: number;
  pausedCalls: number;
}

export class KnownValuesUse {
  private readonly partitions = new Map<number, PartitionUse>();

  /** Whether the partition's next call sends known values and asks for the merged ones (then counts against a pause). */
  next(partition: number): boolean {
    const use = this.of(partition);
    if (use.pausedCalls === 0) return true;
    use.pausedCalls--;
    return false;
  }

  /** After a call that used known values: `matched` compares held; Redis merged `mergedByRedis` fields itself. */
  record(partition: number, matched: number, mergedByRedis: number): void {
    const use = this.of(partition);
    const poor = mergedByRedis >= MIN_FIELDS_JUDGED && matched < mergedByRedis;
    use.poorInARow = poor ? use.poorInARow + 1 : 0;
    if (use.poorInARow >= 2) {
      use.poorInARow = 0;
      use.pausedCalls = PAUSE_CALLS;
    }
  }

  private of(partition: number): PartitionUse {
    let use = this.partitions.get(partition);
    if (use === undefined) {
      use = { poorInARow: 0, pausedCalls: 0 };
      this.partitions.set(partition, use);
    }
    return use;
  }
}

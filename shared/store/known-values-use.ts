/**
 * When a partition's applies send known values (compare-and-set merges, known-values.ts).
 * They pay when the compares hold: the worker is the only one applying to the partition's
 * fields, and its known values hold what it applies again. With other workers applying to
 * the same partition, most compares fail (stale values); with more fields than the known
 * values keep, what a call learns only pushes out what the next calls need. Either way the
 * quads, and the answers that teach them, only add to the calls: two such poor calls in a
 * row pause a partition's use of known values for a while. Learning while there is room
 * (a worker that starts, new nodes) is not poor.
 */

/** A call whose stale or crowding fields outnumber its held compares, with at least this many: a poor call. */
export const MIN_FIELDS_JUDGED = 32;
/** Calls of a partition without known values after two poor calls in a row. */
export const PAUSE_CALLS = 64;

export interface CallMerges {
  matched: number;
  stale: number;
  learned: number;
}

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

  /**
   * After a call that used known values: `matched` compares held, `stale` failed, Redis
   * merged `learned` fields the worker did not know; `full`: the known values had no room.
   */
  record(partition: number, { matched, stale, learned }: CallMerges, full: boolean): void {
    const use = this.of(partition);
    const wasted = stale + (full ? learned : 0);
    const poor = wasted >= MIN_FIELDS_JUDGED && matched < wasted;
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

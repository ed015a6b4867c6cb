/**
 * What a worker believes its partitions' merged fields hold (bucket and summary values):
 * the values its own applies wrote or were answered. An apply sends a known field as a
 * compare-and-set merge (apply-batch.lua, "quads"): Redis writes the worker's merged value
 * when the field still holds the known one, and merges itself otherwise, so a stale belief
 * costs some work, never a wrong aggregate.
 *
 * Bounded, the least recently written fields going first, with room by kind: a node's
 * summary is merged by each of its samples, a 1-second bucket only while samples of its
 * second keep coming, so buckets need only the last seconds' fields.
 */

export type MergedKind = 'bucket' | 'summary';
export type FieldName = string | number;

/** Fields kept at most, by kind: about 250 bytes each (a 40- to 80-byte value, its names, the map's entry). */
export const KNOWN_VALUES_CAPACITY: Readonly<Record<MergedKind, number>> = { summary: 20_000, bucket: 5_000 };

export class KnownValues {
  private readonly values: Record<MergedKind, Map<string, Buffer>> = { summary: new Map(), bucket: new Map() };

  constructor(readonly capacity: Readonly<Record<MergedKind, number>> = KNOWN_VALUES_CAPACITY) {}

  size(kind: MergedKind): number {
    return this.values[kind].size;
  }

  get(kind: MergedKind, key: string, field: FieldName): Buffer | undefined {
    return this.values[kind].get(slot(key, field));
  }

  /** `value` is copied: a slice of a reply would keep the whole reply alive. */
  set(kind: MergedKind, key: string, field: FieldName, value: Buffer): void {
    const values = this.values[kind];
    const capacity = this.capacity[kind];
    if (capacity <= 0) return;
    const name = slot(key, field);
    // Delete first: a Map keeps insertion order, and the oldest entries go first.
    values.delete(name);
    values.set(name, Buffer.from(value));
    if (values.size > capacity) {
      for (const oldest of values.keys()) {
        values.delete(oldest);
        if (values.size <= capacity) break;
      }
    }
  }

  forget(kind: MergedKind, key: string, field: FieldName): void {
    this.values[kind].delete(slot(key, field));
  }
}

/** Two names that ran together could only make a compare fail, never a merge wrong. */
function slot(key: string, field: FieldName): string {
  return `${key}\u0000${field}`;
}

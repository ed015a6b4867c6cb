/**
 * What a worker believes its partitions' merged fields hold (bucket and summary values):
 * the values its own applies wrote or were answered. An apply sends a known field as a
 * compare-and-set merge (apply-batch.lua, "quads"): Redis writes the worker's merged value
 * when the field still holds the known one, and merges itself otherwise, so a stale belief
 * costs some work, never a wrong aggregate.
 *
 * Bounded, the oldest fields going first, with room by kind: a node's summary is merged by
 * each of its samples, a 1-second bucket only while samples of its second keep coming, so
 * buckets need only the last seconds' fields. Values are kept as one-byte strings: a small
 * Buffer is a slice of a shared 8 KB slab, and keeping it would keep the whole slab.
 */

export type MergedKind = 'bucket' | 'summary';
export type FieldName = string | number;

/** Fields kept at most, by kind: about 250 bytes each (the value, its names, the maps' entries), 6 MB in all. */
export const KNOWN_VALUES_CAPACITY: Readonly<Record<MergedKind, number>> = { summary: 20_000, bucket: 5_000 };

/** One kind's fields: key -> field -> value; keys in the order they were first written. */
class KindValues {
  readonly keys = new Map<string, Map<FieldName, string>>();
  size = 0;
}

export class KnownValues {
  private readonly kinds: Record<MergedKind, KindValues> = { summary: new KindValues(), bucket: new KindValues() };

  constructor(readonly capacity: Readonly<Record<MergedKind, number>> = KNOWN_VALUES_CAPACITY) {}

  size(kind: MergedKind): number {
    return this.kinds[kind].size;
  }

  /** Whether the kind holds as many fields as it may: what it learns now pushes out what it knew. */
  full(kind: MergedKind): boolean {
    return this.kinds[kind].size >= this.capacity[kind];
  }

  get(kind: MergedKind, key: string, field: FieldName): Buffer | undefined {
    const value = this.kinds[kind].keys.get(key)?.get(field);
    return value === undefined ? undefined : Buffer.from(value, 'latin1');
  }

  set(kind: MergedKind, key: string, field: FieldName, value: Buffer): void {
    const capacity = this.capacity[kind];
    if (capacity <= 0) return;
    const values = this.kinds[kind];
    let fields = values.keys.get(key);
    if (fields === undefined) {
      fields = new Map();
      values.keys.set(key, fields);
    }
    // Delete first: a Map keeps insertion order, and the oldest fields go first.
    if (fields.delete(field)) values.size--;
    fields.set(field, value.toString('latin1'));
    values.size++;
    if (values.size > capacity) this.evict(values, capacity);
  }

  forget(kind: MergedKind, key: string, field: FieldName): void {
    const values = this.kinds[kind];
    const fields = values.keys.get(key);
    if (fields?.delete(field)) {
      values.size--;
      if (fields.size === 0) values.keys.delete(key);
    }
  }

  /** The oldest keys' oldest fields go first (a minute's node hash before the next minute's). */
  private evict(values: KindValues, capacity: number): void {
    for (const [key, fields] of values.keys) {
      for (const field of fields.keys()) {
        fields.delete(field);
        values.size--;
        if (values.size <= capacity) break;
      }
      if (fields.size === 0) values.keys.delete(key);
      if (values.size <= capacity) return;
    }
  }
}

/**
 * The latest sample time each window query found last, so its next read of the buckets can go
 * out with its read of the latest (one round trip instead of two). A dashboard polls the same
 * queries, and the latest moves into another bucket seldom: a window's buckets change once a
 * second at most. A guess is only ever a guess: what it read is used when the latest read with
 * it selects the very same buckets, and read again otherwise.
 */

/** Queries remembered; a full memory forgets its oldest entry (Map keeps insertion order). */
export const REMEMBERED_QUERIES = 1024;

export class RememberedLatest {
  private readonly byQuery = new Map<string, number>();

  constructor(private readonly capacity = REMEMBERED_QUERIES) {}

  get(query: string): number | undefined {
    return this.byQuery.get(query);
  }

  set(query: string, latestMs: number): void {
    if (!this.byQuery.has(query) && this.byQuery.size >= this.capacity) {
      const oldest = this.byQuery.keys().next();
      if (!oldest.done) this.byQuery.delete(oldest.value);
    }
    this.byQuery.set(query, latestMs);
  }

  get size(): number {
    return this.byQuery.size;
  }
}

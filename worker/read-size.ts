/**
 * How many stream entries one read asks for. Entries vary from one sample (a lone POST) to
 * thousands (a batch, or a group commit of many POSTs), so a fixed COUNT can hand the worker
 * hundreds of thousands of samples at once: decoding and planning them blocks the event loop
 * for seconds, and the other partitions' replies then miss their command timeout. The count
 * follows the samples per entry seen lately so a read holds about `maxSamples`.
 */
export class ReadSize {
  /** Recent samples per entry (exponentially weighted); 1 until something was read. */
  private samplesPerEntry = 1;

  constructor(
    private readonly maxEntries: number,
    private readonly maxSamples: number,
  ) {}

  /** The COUNT for the next read: at least 1, at most maxEntries. */
  get count(): number {
    return Math.max(1, Math.min(this.maxEntries, Math.floor(this.maxSamples / this.samplesPerEntry)));
  }

  /** Records a read's size. */
  observe(entries: number, samples: number): void {
    if (entries <= 0) return;
    const perEntry = Math.max(1, samples / entries);
    // Grow at once (a burst of fat entries must not overfill the next read), shrink slowly.
    this.samplesPerEntry = perEntry >= this.samplesPerEntry ? perEntry : 0.7 * this.samplesPerEntry + 0.3 * perEntry;
  }
}

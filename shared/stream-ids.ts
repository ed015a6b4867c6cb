/** Redis stream ids ("ms-seq") compared and stepped as numbers, never as strings. */

export function compareIds(a: string, b: string): number {
  const [aMs, aSeq] = a.split('-').map(BigInt) as [bigint, bigint];
  const [bMs, bSeq] = b.split('-').map(BigInt) as [bigint, bigint];
  if (aMs !== bMs) return aMs < bMs ? -1 : 1;
  if (aSeq !== bSeq) return aSeq < bSeq ? -1 : 1;
  return 0;
}

/** The smallest id after `id`. */
export function nextId(id: string): string {
  const [ms, seq] = id.split('-');
  return `${ms}-${BigInt(seq ?? '0') + 1n}`;
}

const MAX_ID_PART = 2n ** 64n - 1n;

/** An explicit "ms-seq" id Redis accepts: both parts fit in 64 bits unsigned. */
export function isValidId(id: string): boolean {
  const match = /^(\d{1,20})-(\d{1,20})$/.exec(id);
  return match !== null && BigInt(match[1]!) <= MAX_ID_PART && BigInt(match[2]!) <= MAX_ID_PART;
}

/** How long ago Redis appended the entry (its id's ms part), by `now`; 0 for a clock behind Redis's. */
export function idAgeMs(id: string, now: number): number {
  return Math.max(0, now - Number(id.slice(0, id.indexOf('-'))));
}

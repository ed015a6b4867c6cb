/**
 * An apply plan's sections (apply-plan.ts builds them for apply-batch.lua, whose header
 * documents the layout) read back as records, for the apply that runs without the script.
 */
import type { ScriptArg } from './apply-plan';

export interface BucketHashRecord {
  key: string;
  /** Unix seconds: the expiry a hash created by this apply gets. */
  expireAt: string;
  /** field -> the bucket to merge in (bucket codec) */
  buckets: [string, Buffer][];
}

export interface PlanSections {
  /** Keys only written, and the type each must have if it exists. */
  checks: [key: string, type: string][];
  bucketHashes: BucketHashRecord[];
  /** node -> the summary to merge in (summary codec), per summary hash */
  summaries: { key: string; nodes: [string, Buffer][] }[];
  /** ZADD GT pairs (score, member); members new to the set also join `names` ('' for none). */
  latest: { key: string; names: string; pairs: (string | number)[] }[];
  /** `always` false: only when the key did not exist before this apply. */
  expiries: { key: string; at: string; always: boolean }[];
  prunes: [key: string, maxScore: string][];
  nodePrunes: { key: string; names: string; summaries: string; maxScore: string }[];
  fields: [key: string, field: string, value: string][];
}

export function readPlanSections(sections: readonly ScriptArg[]): PlanSections {
  let i = 0;
  const next = () => sections[i++]!;
  const text = () => String(next());
  const count = () => Number(next());
  const records = <T>(read: () => T): T[] => Array.from({ length: count() }, read);
  const binaryPairs = (m: number): [string, Buffer][] => Array.from({ length: m }, () => [text(), next() as Buffer]);
  return {
    checks: records(() => [text(), text()]),
    bucketHashes: records(() => {
      const key = text();
      const expireAt = text();
      return { key, expireAt, buckets: binaryPairs(count()) };
    }),
    summaries: records(() => {
      const key = text();
      return { key, nodes: binaryPairs(count()) };
    }),
    latest: records(() => {
      const key = text();
      const names = text();
      const m = count();
      const pairs: (string | number)[] = [];
      for (let p = 0; p < 2 * m; p++) pairs.push(next() as string | number);
      return { key, names, pairs };
    }),
    expiries: records(() => ({ key: text(), at: text(), always: text() === '1' })),
    prunes: records(() => [text(), text()]),
    nodePrunes: records(() => ({ key: text(), names: text(), summaries: text(), maxScore: text() })),
    fields: records(() => [text(), text(), text()]),
  };
}

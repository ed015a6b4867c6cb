/**
 * What an apply plan holds (apply-plan.ts builds it), as records: the transaction applies
 * them as they are (transaction-apply.ts), and `scriptSections` lays the same records out as
 * the sections of apply-batch.lua, whose header documents the layout. That layout is
 * written here and nowhere else.
 */
import type { KeyType, ScriptArg } from './apply-plan';

export interface BucketHashRecord {
  key: string;
  /** Unix seconds: the expiry a hash created by this apply gets. */
  expireAt: number;
  /** field (a bucket number, or a node's second) -> the bucket to merge in (bucket codec) */
  buckets: [number | string, Buffer][];
}

export interface PlanRecords {
  /** Keys only written, and the type each must have if it exists. */
  checks: [key: string, type: KeyType][];
  bucketHashes: BucketHashRecord[];
  /** node -> the summary to merge in (summary codec), per summary hash */
  summaries: { key: string; nodes: [string, Buffer][] }[];
  /**
   * ZADD GT pairs (score, member); members new to the set also join `names` ('' for none).
   * `summaries` ('' for none): the members are nodes of that summary hash, and an apply that
   * reads their stored summaries may leave out a time that starts no new step (node-times.ts).
   */
  latest: { key: string; names: string; summaries: string; pairs: (string | number)[] }[];
  /** `always` false: only when the key did not exist before this apply. */
  expiries: { key: string; at: number; always: boolean }[];
  prunes: [key: string, maxScore: number][];
  nodePrunes: { key: string; names: string; summaries: string; maxScore: number }[];
  fields: [key: string, field: string, value: string | number][];
}

/** The records as apply-batch.lua's sections, each a count followed by its records. */
export function scriptSections(records: PlanRecords): ScriptArg[] {
  const s: ScriptArg[] = [records.checks.length];
  for (const [key, type] of records.checks) s.push(key, type);
  s.push(records.bucketHashes.length);
  for (const { key, expireAt, buckets } of records.bucketHashes) {
    s.push(key, expireAt, buckets.length);
    for (const [field, delta] of buckets) s.push(field, delta);
  }
  s.push(records.summaries.length);
  for (const { key, nodes } of records.summaries) {
    s.push(key, nodes.length);
    for (const [node, summary] of nodes) s.push(node, summary);
  }
  s.push(records.latest.length);
  for (const { key, names, pairs } of records.latest) {
    s.push(key, names, pairs.length / 2);
    for (const arg of pairs) s.push(arg);
  }
  s.push(records.expiries.length);
  for (const { key, at, always } of records.expiries) s.push(key, at, always ? 1 : 0);
  s.push(records.prunes.length);
  for (const [key, maxScore] of records.prunes) s.push(key, maxScore);
  s.push(records.nodePrunes.length);
  for (const { key, names, summaries, maxScore } of records.nodePrunes) s.push(key, names, summaries, maxScore);
  s.push(records.fields.length);
  for (const [key, field, value] of records.fields) s.push(key, field, value);
  return s;
}

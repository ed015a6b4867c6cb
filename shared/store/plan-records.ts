/**
 * What an apply plan holds (apply-plan.ts builds it), as records: the transaction applies
 * them as they are (transaction-apply.ts), encoding each bucket and summary as it writes it,
 * and `scriptSections` lays the same records out as the sections of apply-batch.lua, whose
 * header documents the layout. That layout is written here and nowhere else.
 */
import type { KeyType, ScriptArg } from './apply-plan';
import { encodeBucket, type BucketStats } from './bucket-codec';
import { encodeNodeSummary, type NodeSummary } from './summary-codec';

export interface BucketHashRecord {
  /** Unix seconds: the expiry a hash created by this apply gets. */
  expireAt: number;
  /** field (a bucket number, or a node's second) -> the bucket to merge in (encodeBucket when written) */
  buckets: ReadonlyMap<number | string, BucketStats>;
}

/** ZADD GT times: member -> score. */
export interface LatestRecord {
  /** The name index members new to the set also join, if any. */
  names: string | undefined;
  /**
   * The summary hash whose nodes the members are, if any: an apply that reads their stored
   * summaries may leave out a time that starts no new step (node-times.ts).
   */
  summaries: string | undefined;
  scores: ReadonlyMap<string, number>;
}

/**
 * The records are the planner's own maps, not copies: copying them (and encoding every
 * bucket while planning) was more than half of the worker's planning, most of it the
 * garbage of the copies (docs/BENCHMARKS.md). Each map is read in its insertion order.
 */
export interface PlanRecords {
  /** Keys only written, and the type each must have if it exists. */
  checks: [key: string, type: KeyType][];
  /** hash key -> its buckets */
  bucketHashes: ReadonlyMap<string, BucketHashRecord>;
  /** summary hash -> node -> the summary to merge in (encodeNodeSummary when written) */
  summaries: ReadonlyMap<string, ReadonlyMap<string, NodeSummary>>;
  /** sorted set -> its latest times */
  latest: ReadonlyMap<string, LatestRecord>;
  /** key -> expiry; `always` false: only when the key did not exist before this apply. */
  expiries: ReadonlyMap<string, { at: number; always: boolean }>;
  /** sorted set -> members at or below this score are dropped */
  prunes: ReadonlyMap<string, number>;
  /** like prunes, and the dropped nodes also leave the name index and the summary hash */
  nodePrunes: ReadonlyMap<string, { names: string; summaries: string; maxScore: number }>;
  fields: [key: string, field: string, value: string | number][];
}

/** The records as apply-batch.lua's sections, each a count followed by its records. */
export function scriptSections(records: PlanRecords): ScriptArg[] {
  const s: ScriptArg[] = [records.checks.length];
  for (const [key, type] of records.checks) s.push(key, type);
  s.push(records.bucketHashes.size);
  for (const [key, { expireAt, buckets }] of records.bucketHashes) {
    s.push(key, expireAt, buckets.size);
    for (const [field, delta] of buckets) s.push(field, encodeBucket(delta));
  }
  s.push(records.summaries.size);
  for (const [key, nodes] of records.summaries) {
    s.push(key, nodes.size);
    for (const [node, summary] of nodes) s.push(node, encodeNodeSummary(summary));
  }
  s.push(records.latest.size);
  for (const [key, { names, scores }] of records.latest) {
    s.push(key, names ?? '', scores.size);
    for (const [member, score] of scores) s.push(score, member);
  }
  s.push(records.expiries.size);
  for (const [key, { at, always }] of records.expiries) s.push(key, at, always ? 1 : 0);
  s.push(records.prunes.size);
  for (const [key, maxScore] of records.prunes) s.push(key, maxScore);
  s.push(records.nodePrunes.size);
  for (const [key, { names, summaries, maxScore }] of records.nodePrunes) s.push(key, names, summaries, maxScore);
  s.push(records.fields.length);
  for (const [key, field, value] of records.fields) s.push(key, field, value);
  return s;
}

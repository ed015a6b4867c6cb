/**
 * A cost model, not the worker's apply: the same plans apply-batch.lua carries out, done
 * with native commands instead of a script. The stored buckets and summaries are read
 * (HMGET) under WATCH, merged here with the codecs' own merges, and written back with the
 * acknowledgement in one MULTI/EXEC, which aborts if another apply touched a watched key
 * meanwhile. `npm run bench:apply -- --native-model` measures both on the same entries and
 * checks that they leave the same aggregates: what the script's Lua costs Redis per sample
 * is the difference.
 *
 * Left out because the measured workloads never need them: entries applied in parts (an
 * oversized entry throws), key type checks beyond what HMGET checks by itself, and a
 * pending check over more than one XPENDING page (one consumer reads the partition).
 */
import type Redis from 'ioredis';
import { groupWithinBound, type ScriptArg } from '../shared/store/apply-plan';
import type { DecodedEntry } from '../shared/store/batch-apply';
import { decodeBucket, encodeBucket, EXPIRY_FIELD, mergeInto } from '../shared/store/bucket-codec';
import type { PartitionKeys } from '../shared/store/keys';
import { decodeNodeSummary, encodeNodeSummary, type NodeSummary } from '../shared/store/summary-codec';
import { compareIds } from '../shared/stream-ids';

/** The summary hash's first field in apply-batch.lua: a long value keeps the hash a hash table. */
const SUMMARY_HASH_MARKER = 'node summaries: this value outgrows a listpack value, so the hash stays a hash table';
const NODE_PRUNE_LIMIT = 500;

interface BucketRecord {
  key: string;
  expireAt: string;
  pairs: [string, Buffer][];
}

interface Sections {
  checks: [string, string][];
  buckets: BucketRecord[];
  summaries: { key: string; pairs: [string, Buffer][] }[];
  latest: { key: string; names: string; pairs: ScriptArg[] }[];
  expiries: { key: string; at: string; always: boolean }[];
  prunes: [string, string][];
  nodePrunes: { key: string; names: string; summaries: string; maxScore: string }[];
  fields: [string, string, string][];
}

/** The plan's sections, as apply-batch.lua reads them (its header documents the layout). */
function readSections(sections: readonly ScriptArg[]): Sections {
  let i = 0;
  const next = () => sections[i++]!;
  const text = () => String(next());
  const count = () => Number(next());
  const records = <T>(read: () => T): T[] => Array.from({ length: count() }, read);
  const pairs = (m: number): [string, Buffer][] => Array.from({ length: m }, () => [text(), next() as Buffer]);
  return {
    checks: records(() => [text(), text()] as [string, string]),
    buckets: records(() => {
      const key = text();
      const expireAt = text();
      return { key, expireAt, pairs: pairs(count()) };
    }),
    summaries: records(() => {
      const key = text();
      return { key, pairs: pairs(count()) };
    }),
    latest: records(() => {
      const key = text();
      const names = text();
      const m = count();
      const scored: ScriptArg[] = [];
      for (let p = 0; p < 2 * m; p++) scored.push(next());
      return { key, names, pairs: scored };
    }),
    expiries: records(() => ({ key: text(), at: text(), always: text() === '1' })),
    prunes: records(() => [text(), text()] as [string, string]),
    nodePrunes: records(() => ({ key: text(), names: text(), summaries: text(), maxScore: text() })),
    fields: records(() => [text(), text(), text()] as [string, string, string]),
  };
}

function mergeSummary(stored: NodeSummary, delta: NodeSummary): NodeSummary {
  const latest = stored.last_at > delta.last_at ? stored : delta;
  return { ...latest, first_at: Math.min(stored.first_at, delta.first_at) };
}

type Reply = [Error | null, unknown];

export class NativeApplyModel {
  /** EXECs aborted because a watched key changed (another apply of the partition). */
  aborted = 0;

  /** `redis`: a connection of its own (WATCH holds for the connection until EXEC). */
  constructor(
    private readonly redis: Redis,
    private readonly group: string,
    private readonly now: () => number = Date.now,
  ) {}

  /** Applies the entries still pending, exactly once; answers the samples applied. */
  async applyBatch(keys: PartitionKeys, entries: readonly DecodedEntry[]): Promise<number> {
    let samples = 0;
    for (const group of groupWithinBound(entries, (e) => e.samples, keys, this.now())) {
      if (group.oversized) throw new Error('the native apply model does not apply entries in parts');
      samples += await this.applyGroup(keys, group.items);
    }
    return samples;
  }

  private async applyGroup(keys: PartitionKeys, entries: readonly DecodedEntry[]): Promise<number> {
    for (;;) {
      const ids = entries.map((e) => e.id).sort(compareIds);
      const [plan] = groupWithinBound(entries, (e) => e.samples, keys, this.now());
      if (!plan || plan.oversized) throw new Error('the native apply model needs one plan per group');
      const s = readSections(plan.plan.sections);
      // Not the stream (every append changes it): another apply of these entries writes the
      // same aggregate keys, so watching those covers the pending check below.
      const watched = new Set<string>([...s.buckets.map((b) => b.key), ...s.summaries.map((h) => h.key)]);
      for (const [key] of s.checks) watched.add(key);
      await this.redis.watch(...watched);

      const reads = this.redis.pipeline();
      reads.xpending(keys.stream, this.group, ids[0]!, ids[ids.length - 1]!, ids.length);
      for (const [key] of s.checks) reads.exists(key);
      for (const b of s.buckets) reads.hmgetBuffer(b.key, EXPIRY_FIELD, ...b.pairs.map(([field]) => field));
      for (const h of s.summaries) reads.hmgetBuffer(h.key, ...h.pairs.map(([node]) => node));
      for (const p of s.nodePrunes) reads.zrangebyscore(p.key, '-inf', p.maxScore, 'LIMIT', 0, NODE_PRUNE_LIMIT);
      const replies = ((await reads.exec()) ?? []) as Reply[];
      let r = 0;
      const take = () => {
        const [error, value] = replies[r++]!;
        if (error) throw error;
        return value;
      };
      const pendingIds = new Set((take() as [string][]).map(([id]) => id));
      const still = entries.filter((e) => pendingIds.has(e.id));
      if (still.length < entries.length) {
        await this.redis.unwatch();
        if (still.length === 0) return 0;
        entries = still;
        continue;
      }
      const missing = new Set(s.checks.filter(() => Number(take()) === 0).map(([key]) => key));

      const tx = this.redis.multi();
      for (const b of s.buckets) {
        const stored = take() as (Buffer | null)[];
        const created = stored[0] === null;
        const args: (string | Buffer)[] = created ? [EXPIRY_FIELD, b.expireAt] : [];
        b.pairs.forEach(([field, delta], f) => {
          const current = stored[f + 1];
          if (!current) return args.push(field, delta);
          const merged = decodeBucket(current);
          mergeInto(merged, decodeBucket(delta));
          return args.push(field, encodeBucket(merged));
        });
        tx.hset(b.key, ...args);
        if (created) tx.expireat(b.key, b.expireAt);
      }
      for (const h of s.summaries) {
        const stored = take() as (Buffer | null)[];
        const args: (string | Buffer)[] = ['', SUMMARY_HASH_MARKER];
        h.pairs.forEach(([node, delta], j) => {
          const current = stored[j];
          args.push(node, current ? encodeNodeSummary(mergeSummary(decodeNodeSummary(current), decodeNodeSummary(delta))) : delta);
        });
        tx.hset(h.key, ...args);
      }
      for (const l of s.latest) {
        tx.zadd(l.key, 'GT', ...(l.pairs as (string | number)[]));
        // The script adds to the name index only when the ZADD added members; here every member, NX.
        if (l.names !== '') {
          const named: (string | number)[] = [];
          for (let p = 0; p < l.pairs.length; p += 2) named.push(0, String(l.pairs[p + 1]));
          tx.zadd(l.names, 'NX', ...named);
        }
      }
      for (const e of s.expiries) if (e.always || missing.has(e.key)) tx.expireat(e.key, e.at);
      for (const [key, maxScore] of s.prunes) tx.zremrangebyscore(key, '-inf', maxScore);
      for (const p of s.nodePrunes) {
        const old = take() as string[];
        if (old.length === 0) continue;
        tx.zrem(p.key, ...old);
        tx.zrem(p.names, ...old);
        tx.hdel(p.summaries, ...old);
      }
      for (const [key, field, value] of s.fields) tx.hset(key, field, value);
      tx.xack(keys.stream, this.group, ...ids);
      tx.spublish(keys.appliedChannel, '');
      const done = await tx.exec();
      if (done === null) {
        this.aborted++;
        continue;
      }
      for (const [error] of done) if (error) throw error;
      return entries.reduce((n, e) => n + e.samples.length, 0);
    }
  }
}

/**
 * Applies decoded stream entries to a partition's aggregates, in calls bounded by
 * MAX_SCRIPT_ARGS: consecutive entries share a call while their plan fits (a call boundary
 * always falls between entries, each entry applied and acknowledged in one atomic step); an
 * entry too large for one call is applied in parts through apply-batch.lua, each part
 * atomically with its marker, the last part with the acknowledgement.
 *
 * A call is a MULTI/EXEC of native commands on one Redis (transaction-apply.ts: Redis runs
 * about 0.4 of the script's instructions per node sample) and apply-batch.lua on a cluster,
 * where a WATCH would need a connection per master for every apply in flight.
 */
import type { PartitionKeys } from './keys';
import { encodeBulkStrings } from './encoded-script';
import { encodedScript } from './scripts';
import { compareIds } from '../stream-ids';
import { isCluster, type RedisClient } from '../redis';
import type { Sample } from '../samples';
import { groupWithinBound, MAX_SCRIPT_ARGS, planBatch, type ApplyPlan, type KeyType, type ScriptArg } from './apply-plan';
import { TransactionApply } from './transaction-apply';
import { TransactionConnections } from './transaction-connections';
import { WrongKeyTypeError } from './wrong-key-type';

export interface DecodedEntry {
  id: string;
  samples: Sample[];
}

export interface ApplyOutcome {
  /** Entries applied and acknowledged by this call. */
  applied: number;
  /** Entries that another delivery had already applied: they changed nothing. */
  skipped: number;
  samples: number;
}

/** What one apply-batch call did: its numeric replies, mapped here and nowhere else. */
export type ApplyReply =
  | { kind: 'applied' }
  | { kind: 'none-pending' }
  | { kind: 'some-pending'; ids: string[] }
  | { kind: 'part-applied' }
  | { kind: 'part-applied-before' };

export function decodeApplyReply(reply: readonly (string | number)[]): ApplyReply {
  switch (Number(reply[0])) {
    case 2:
      return { kind: 'applied' };
    case 0:
      return { kind: 'none-pending' };
    case 1:
      return { kind: 'some-pending', ids: reply.slice(1).map(String) };
    case 3:
      return { kind: 'part-applied' };
    case 4:
      return { kind: 'part-applied-before' };
    default:
      throw new Error(`apply-batch answered an unknown reply ${JSON.stringify(reply)}`);
  }
}

/** TYPE commands sent in one pipeline while checking an oversized entry's keys. */
const TYPE_CHECK_CHUNK = 1000;

/** Part markers outlive any delay an entry can see before its last part is applied. */
const PART_MARKER_TTL_SECONDS = 7 * 86400;

/** How whole entries are applied: native commands in MULTI/EXEC (one Redis only), or the script. */
export type ApplyMethod = 'transaction' | 'script';

export class AggregateStore {
  private readonly transactions: TransactionApply | undefined;

  constructor(
    private readonly redis: RedisClient,
    private readonly group: string,
    private readonly consumer: string,
    private readonly now: () => number = Date.now,
    private readonly maxScriptArgs: number = MAX_SCRIPT_ARGS,
    method: ApplyMethod = isCluster(redis) ? 'script' : 'transaction',
  ) {
    if (method === 'transaction') {
      if (isCluster(redis)) throw new Error('a Redis Cluster applies through the script');
      this.transactions = new TransactionApply(new TransactionConnections(redis), group);
    }
  }

  /** MULTI/EXECs that found a watched key changed and read again (another apply of the partition came first). */
  get transactionRetries(): number {
    return this.transactions?.retries ?? 0;
  }

  /** Applies the entries exactly once: only those still pending count, atomically with XACK. */
  async applyBatch(keys: PartitionKeys, entries: readonly DecodedEntry[], onProgress: () => void = () => undefined): Promise<ApplyOutcome> {
    const outcome: ApplyOutcome = { applied: 0, skipped: 0, samples: 0 };
    for (const group of groupWithinBound(entries, (e) => e.samples, keys, this.now(), this.maxScriptArgs)) {
      if (group.oversized) await this.applyInParts(keys, group.items[0]!, outcome, onProgress);
      else await this.applyWhole(keys, group.items, group.plan, outcome);
      onProgress();
    }
    return outcome;
  }

  /** Whole entries (part 0), by the store's method. */
  private async applyEntries(keys: PartitionKeys, ids: readonly string[], plan: ApplyPlan): Promise<ApplyReply> {
    if (this.transactions) return this.transactions.apply(keys, [...ids].sort(compareIds), plan);
    return this.call(keys, ids, 0, 0, plan);
  }

  private async call(keys: PartitionKeys, ids: readonly string[], part: number, parts: number, plan: ApplyPlan): Promise<ApplyReply> {
    // The aggregate keys are named in the sections (all in the stream's slot), not declared.
    const args: ScriptArg[] = [this.group, this.consumer, ids.length];
    // The script reads the pending entries of the ids' range: it takes them in stream order.
    for (const id of [...ids].sort(compareIds)) args.push(id);
    // The script tells read-after-write requests waiting on this partition to look again
    // (applied-signals.ts) once it acknowledged the entries: no round trip of its own.
    args.push(part, parts, PART_MARKER_TTL_SECONDS, keys.appliedChannel);
    for (const arg of plan.sections) args.push(arg);
    const reply = await encodedScript('applyBatch').call(
      this.redis,
      [keys.stream, keys.entryParts(ids[0]!)],
      encodeBulkStrings(args),
      args.length,
    );
    return decodeApplyReply(reply as (string | number)[]);
  }

  /** `plan`: the entries' plan, as grouping made it; replanned only for the entries still pending after a race. */
  private async applyWhole(keys: PartitionKeys, entries: readonly DecodedEntry[], plan: ApplyPlan, outcome: ApplyOutcome): Promise<void> {
    let current = entries;
    let currentPlan = plan;
    while (current.length > 0) {
      const reply = await this.applyEntries(
        keys,
        current.map((e) => e.id),
        currentPlan,
      );
      if (reply.kind === 'applied') {
        outcome.applied += current.length;
        outcome.samples += current.reduce((n, e) => n + e.samples.length, 0);
        return;
      }
      if (reply.kind !== 'some-pending') {
        outcome.skipped += current.length;
        return;
      }
      // Some entries were applied by another delivery meanwhile: fold only the rest.
      const stillPending = new Set(reply.ids);
      const next = current.filter((e) => stillPending.has(e.id));
      outcome.skipped += current.length - next.length;
      current = next;
      currentPlan = planBatch(
        current.flatMap((e) => e.samples),
        keys,
        this.now(),
      );
    }
  }

  /** One entry too large for a call: its samples in bounded parts, applied in order. */
  private async applyInParts(keys: PartitionKeys, entry: DecodedEntry, outcome: ApplyOutcome, onProgress: () => void): Promise<void> {
    const parts = groupWithinBound(entry.samples, (s) => [s], keys, this.now(), this.maxScriptArgs);
    // One sample is never wider than a call, so every part comes planned.
    const plans = parts.map((part) => (part.oversized ? planBatch(part.items, keys, this.now()) : part.plan));
    // Each part checks its own keys, but a later part failing would leave the earlier ones
    // applied: check every key of every part before the first part is applied.
    if ((await this.redis.exists(keys.entryParts(entry.id))) === 0) await this.checkKeyTypes(plans);
    for (let p = 0; p < parts.length; p++) {
      const reply = await this.call(keys, [entry.id], p + 1, parts.length, plans[p]!);
      onProgress();
      if (reply.kind === 'none-pending') {
        // Acknowledged by another delivery (which applied every part).
        outcome.skipped += 1;
        return;
      }
      if (reply.kind === 'applied') {
        outcome.applied += 1;
        outcome.samples += entry.samples.length;
        return;
      }
      // This part applied now, or by an earlier delivery: go on with the next.
    }
  }

  private async checkKeyTypes(plans: readonly ApplyPlan[]): Promise<void> {
    const expected = new Map<string, KeyType>();
    for (const plan of plans) for (const [key, type] of plan.keyTypes) expected.set(key, type);
    const all = [...expected];
    for (let first = 0; first < all.length; first += TYPE_CHECK_CHUNK) {
      const slice = all.slice(first, first + TYPE_CHECK_CHUNK);
      const pipeline = this.redis.pipeline();
      for (const [key] of slice) pipeline.type(key);
      const replies = (await pipeline.exec()) ?? [];
      slice.forEach(([key, type], i) => {
        const [error, actual] = replies[i] ?? [new Error('no reply to TYPE'), null];
        if (error) throw error;
        if (actual !== 'none' && actual !== type) throw new WrongKeyTypeError(key, String(actual), type);
      });
    }
  }
}

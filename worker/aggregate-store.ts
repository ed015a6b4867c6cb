/** Applies decoded stream entries to a partition's aggregates through apply-batch.lua. */
import type { PartitionKeys } from '../shared/keys';
import { loadLuaScript } from '../shared/lua-scripts';
import type { RedisClient } from '../shared/redis';
import type { Sample } from '../shared/samples';
import { planBatch } from './aggregate';

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

type ApplyReply = [number, ...(string | number)[]];
type ApplyBatchCommand = (numKeys: number, ...args: (string | number)[]) => Promise<ApplyReply>;

const SCRIPT = loadLuaScript('apply-batch');

export class AggregateStore {
  private readonly applyBatch: ApplyBatchCommand;

  constructor(
    redis: RedisClient,
    private readonly group: string,
    private readonly consumer: string,
    private readonly now: () => number = Date.now,
  ) {
    if (!('applyBatch' in redis)) redis.defineCommand('applyBatch', { lua: SCRIPT });
    this.applyBatch = (redis as unknown as { applyBatch: ApplyBatchCommand }).applyBatch.bind(redis);
  }

  /** Applies the entries exactly once: only those still pending count, atomically with XACK. */
  async apply(keys: PartitionKeys, entries: readonly DecodedEntry[]): Promise<ApplyOutcome> {
    let current = entries;
    const outcome: ApplyOutcome = { applied: 0, skipped: 0, samples: 0 };
    while (current.length > 0) {
      const plan = planBatch(
        current.flatMap((e) => e.samples),
        keys,
        this.now(),
      );
      const reply = await this.applyBatch(
        1 + plan.keys.length,
        keys.stream,
        ...plan.keys,
        this.group,
        this.consumer,
        current.length,
        ...current.map((e) => e.id),
        ...plan.ops,
      );
      const status = Number(reply[0]);
      if (status === 2) {
        outcome.applied += current.length;
        outcome.samples += current.reduce((n, e) => n + e.samples.length, 0);
        return outcome;
      }
      if (status === 0) {
        outcome.skipped += current.length;
        return outcome;
      }
      // Some entries were applied by another delivery meanwhile: fold only the rest.
      const stillPending = new Set(reply.slice(1).map(String));
      const next = current.filter((e) => stillPending.has(e.id));
      outcome.skipped += current.length - next.length;
      current = next;
    }
    return outcome;
  }
}

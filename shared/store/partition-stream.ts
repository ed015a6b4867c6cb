/**
 * One consumer's view of a partition stream through its consumer group: reads (new
 * entries on a connection of its own, its own pending ones, idle ones of others) and the
 * pending-entry bookkeeping around a dead letter.
 */
import { acknowledgeDeadLetter, type DeadLetterAcknowledgement } from './dead-letter-entries';
import type { PartitionKeys } from './keys';
import type { RedisClient } from '../redis';

/** A stream entry as read: its fields are null when it was trimmed while pending. */
export type RawEntry = [id: string, fields: string[] | null];

export class PartitionStream {
  constructor(
    private readonly keys: PartitionKeys,
    /** Shared connection for claims and acknowledgements. */
    private readonly redis: RedisClient,
    /** This consumer's own connection for blocking reads. */
    private readonly reader: RedisClient,
    private readonly group: string,
    private readonly consumer: string,
  ) {}

  /** Up to `count` entries never delivered to the group, waiting up to blockMs (0: no wait) for the first. */
  async readNew(count: number, blockMs: number): Promise<RawEntry[]> {
    const block = blockMs > 0 ? ['BLOCK', blockMs] : [];
    const reply = (await this.reader.xreadgroup(
      'GROUP',
      this.group,
      this.consumer,
      'COUNT',
      count,
      ...(block as ['BLOCK', number]),
      'STREAMS',
      this.keys.stream,
      '>',
    )) as [string, RawEntry[]][] | null;
    return reply?.[0]?.[1] ?? [];
  }

  /** This consumer's own pending entries after `after` (from before a restart or a failure). */
  async readOwnPending(after: string, count: number): Promise<RawEntry[]> {
    const reply = (await this.redis.xreadgroup('GROUP', this.group, this.consumer, 'COUNT', count, 'STREAMS', this.keys.stream, after)) as
      [string, RawEntry[]][] | null;
    return reply?.[0]?.[1] ?? [];
  }

  /** XAUTOCLAIM: entries idle at least minIdleMs, from `cursor`; the next cursor is '0-0' after a full pass. */
  async claimIdle(minIdleMs: number, cursor: string, count: number): Promise<{ cursor: string; entries: RawEntry[] }> {
    const [next, entries] = (await this.redis.xautoclaim(
      this.keys.stream,
      this.group,
      this.consumer,
      minIdleMs,
      cursor,
      'COUNT',
      count,
    )) as [string, RawEntry[], string[]];
    return { cursor: next, entries };
  }

  /** Does this consumer still hold any pending entry? */
  async holdsPending(): Promise<boolean> {
    const own = (await this.redis.xpending(this.keys.stream, this.group, '-', '+', 1, this.consumer)) as unknown[];
    return own.length > 0;
  }

  /** How often the entry was delivered, or null when it is no longer pending. */
  async deliveriesOf(id: string): Promise<number | null> {
    const pending = (await this.redis.xpending(this.keys.stream, this.group, id, id, 1)) as [string, string, number, number][];
    if (pending.length === 0) return null;
    return Number(pending[0]?.[3] ?? 1);
  }

  /** Parts of an oversized entry already applied (apply-batch.lua's markers). */
  partsApplied(id: string): Promise<number> {
    return this.redis.hlen(this.keys.entryParts(id));
  }

  /**
   * Acknowledges an entry without applying it (it was dead-lettered) and marks it so, only
   * if it is still pending (dead-letter-entries.ts): 'applied' when a consumer applied it first.
   */
  acknowledgeDeadLettered(id: string): Promise<DeadLetterAcknowledgement> {
    return acknowledgeDeadLetter(this.redis, this.keys, this.group, id);
  }
}

/**
 * Waits until every entry up to a token's positions is applied (README, read-after-write).
 * One shared poll per partition serves every waiting request: two Redis commands per
 * partition per tick however many requests wait, and a bound on how many may wait at all.
 * A worker's "applied" hint (applied-signals.ts) cuts the pause before the next poll short:
 * a poll then follows each apply, so the requests need not wait for the tick.
 */
import { ConsistencyTimeoutError, TooManyWaitersError } from '../shared/errors';
import type { PartitionKeys } from '../shared/store/keys';
import type { RedisClient } from '../shared/redis';
import { groupInfo, pendingSummary } from '../shared/store/group-info';
import type { PartitionPosition } from './consistency-token';

/** Pause between two polls of a partition while requests wait on it, unless a hint comes first. */
const POLL_INTERVAL_MS = 10;

type Id = readonly [bigint, bigint];

function parseId(id: string): Id {
  const [ms, seq] = id.split('-');
  return [BigInt(ms!), BigInt(seq ?? '0')];
}

function atOrAfter(a: Id, b: Id): boolean {
  return a[0] > b[0] || (a[0] === b[0] && a[1] >= b[1]);
}

interface Waiter {
  id: Id;
  resolve(): void;
  reject(error: unknown): void;
}

/** The applied position of one partition, polled while anyone waits on it. */
class PartitionWatch {
  private readonly waiters = new Set<Waiter>();
  private polling = false;
  /** An "applied" hint came since the current poll began: poll again without a pause. */
  private hinted = false;
  /** Ends the current pause early, while one runs. */
  private wake: (() => void) | undefined;

  constructor(
    private readonly redis: RedisClient,
    private readonly keys: PartitionKeys,
    private readonly group: string,
    private readonly pollIntervalMs: number,
  ) {}

  /** Entries of this partition were just applied (the worker's hint). */
  applied(): void {
    if (!this.polling) return; // nobody waits
    this.hinted = true;
    this.wake?.();
  }

  get size(): number {
    return this.waiters.size;
  }

  until(id: string): { done: Promise<void>; cancel(): void } {
    let waiter!: Waiter;
    const done = new Promise<void>((resolve, reject) => {
      waiter = { id: parseId(id), resolve, reject };
    });
    this.waiters.add(waiter);
    if (!this.polling) void this.poll();
    const cancel = () => {
      this.waiters.delete(waiter);
      if (this.waiters.size === 0) this.wake?.(); // nobody is left to poll for
    };
    return { done, cancel };
  }

  private async poll(): Promise<void> {
    this.polling = true;
    try {
      while (this.waiters.size > 0) {
        this.hinted = false;
        const applied = await this.appliedUpTo();
        for (const waiter of this.waiters) {
          if (applied(waiter.id)) {
            this.waiters.delete(waiter);
            waiter.resolve();
          }
        }
        // A hint during the poll may tell of an apply the poll read too early to see.
        if (this.waiters.size > 0 && !this.hinted) await this.pause();
      }
    } catch (error) {
      // Redis failed: every waiter answers 503 now rather than 504 later.
      for (const waiter of this.waiters) waiter.reject(error);
      this.waiters.clear();
    } finally {
      this.polling = false;
    }
  }

  private pause(): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.wake?.(), this.pollIntervalMs);
      this.wake = () => {
        clearTimeout(timer);
        this.wake = undefined;
        resolve();
      };
    });
  }

  /**
   * Applied = delivered to the group and no entry at or before it still pending. The
   * delivered position is read first, the pending list after its answer: read the other way
   * round (or in parallel, where a redirected XINFO answers last), an entry delivered
   * between the two reads looks delivered and not pending.
   */
  private async appliedUpTo(): Promise<(id: Id) => boolean> {
    const info = await groupInfo(this.redis, this.keys, this.group);
    const pending = await pendingSummary(this.redis, this.keys, this.group);
    if (info === null) return () => false;
    const delivered = parseId(info.lastDeliveredId);
    const oldestPending = pending.oldestId === null ? undefined : parseId(pending.oldestId);
    return (id) => atOrAfter(delivered, id) && (oldestPending === undefined || !atOrAfter(id, oldestPending));
  }
}

export class ConsistencyWaiter {
  private readonly watches: PartitionWatch[];
  private waiting = 0;

  constructor(
    redis: RedisClient,
    partitions: readonly PartitionKeys[],
    group: string,
    private readonly maxWaitMs: number,
    private readonly maxWaiters: number,
    pollIntervalMs = POLL_INTERVAL_MS,
  ) {
    this.watches = partitions.map((p) => new PartitionWatch(redis, p, group, pollIntervalMs));
  }

  /** A worker's hint that entries of `partition` were just applied (applied-signals.ts). */
  applied(partition: number): void {
    this.watches[partition]?.applied();
  }

  /** Requests waiting right now. */
  get waitingRequests(): number {
    return this.waiting;
  }

  async waitFor(positions: readonly PartitionPosition[]): Promise<void> {
    if (this.waiting >= this.maxWaiters) throw new TooManyWaitersError(this.maxWaiters);
    this.waiting++;
    const waits = positions.map((p) => this.watches[p.partition]!.until(p.id));
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        Promise.all(waits.map((w) => w.done)),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new ConsistencyTimeoutError(this.maxWaitMs)), this.maxWaitMs);
        }),
      ]);
    } finally {
      clearTimeout(timer);
      for (const wait of waits) wait.cancel();
      this.waiting--;
    }
  }
}

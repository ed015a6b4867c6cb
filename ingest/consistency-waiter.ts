/**
 * Waits until every entry up to a token's positions is applied (README, read-after-write).
 * One shared poll per partition serves every waiting request: two Redis commands per
 * partition per tick however many requests wait, and a bound on how many may wait at all.
 */
import { ConsistencyTimeoutError, TooManyWaitersError } from '../shared/errors';
import type { PartitionKeys } from '../shared/store/keys';
import type { RedisClient } from '../shared/redis';
import { groupInfo, pendingSummary } from '../shared/store/group-info';
import type { PartitionPosition } from './consistency-token';

/** Pause between two polls of a partition while requests wait on it. */
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

  constructor(
    private readonly redis: RedisClient,
    private readonly keys: PartitionKeys,
    private readonly group: string,
  ) {}

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
    return { done, cancel: () => this.waiters.delete(waiter) };
  }

  private async poll(): Promise<void> {
    this.polling = true;
    try {
      while (this.waiters.size > 0) {
        const applied = await this.appliedUpTo();
        for (const waiter of this.waiters) {
          if (applied(waiter.id)) {
            this.waiters.delete(waiter);
            waiter.resolve();
          }
        }
        if (this.waiters.size > 0) await new Promise((resolve) => setTimeout(resolve, POLL_INTERVAL_MS));
      }
    } catch (error) {
      // Redis failed: every waiter answers 503 now rather than 504 later.
      for (const waiter of this.waiters) waiter.reject(error);
      this.waiters.clear();
    } finally {
      this.polling = false;
    }
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
  ) {
    this.watches = partitions.map((p) => new PartitionWatch(redis, p, group));
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

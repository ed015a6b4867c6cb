/**
 * The dead-letter queue (a BullMQ queue nobody consumes): entries that can never be
 * applied wait here with their payload and reason until they are replayed or purged.
 */
import { Queue, type Job } from 'bullmq';
import type { Config } from './config';
import { globalKeys } from './store/keys';
import { replayEntry, unmarkDeadLetter } from './store/dead-letter-entries';
import { bullConnection, type BullConnection, type RedisClient } from './redis';

export interface DeadLetter {
  partition: number;
  entry_id: string;
  /** The stream entry's field/value pairs, as read. */
  fields: string[];
  reason: string;
  deliveries: number;
  failed_at: string;
  /**
   * Set on every letter since dead-lettering marks the entry as it acknowledges it: replay
   * appends the entry only with that mark. Letters from before replay without the check.
   */
  marked_on_ack?: true;
}

/** What a replay did: letters appended, letters dropped because a consumer applied their entry, letters kept while their entry is pending. */
export interface ReplayOutcome {
  replayed: number;
  already_applied: number;
  still_pending: number;
}

export interface DeadLetterView extends DeadLetter {
  id: string;
}

const QUEUE = 'dead-letters';

/** A letter's job id: its entry, so adding one twice stores it once. */
const letterId = (partition: number, entryId: string): string => `${partition}-${entryId}`;
/** How long close() lets a connection still being set up finish first. */
const CLOSE_READY_WAIT_MS = 2000;

export class DeadLetterQueue {
  private readonly queue: Queue<DeadLetter>;
  private readonly bull: BullConnection;

  constructor(
    private readonly config: Config,
    private readonly redis: RedisClient,
  ) {
    this.bull = bullConnection(config);
    this.queue = new Queue<DeadLetter>(QUEUE, {
      connection: this.bull.connection,
      prefix: globalKeys(config.keyPrefix).bullPrefix,
    });
    this.queue.on('error', () => undefined); // connection trouble surfaces through the callers
  }

  /**
   * Adds a letter before its entry is acknowledged (so a crash in between loses nothing);
   * the job id is the entry, so a repeated add (after a crash) is a no-op.
   */
  async add(letter: DeadLetter): Promise<void> {
    await this.queue.add('dead-letter', { ...letter, marked_on_ack: true }, { jobId: letterId(letter.partition, letter.entry_id) });
  }

  /** Removes the letter of an entry a consumer applied after all. */
  async remove(partition: number, entryId: string): Promise<void> {
    await this.queue.remove(letterId(partition, entryId));
  }

  async count(): Promise<number> {
    return this.queue.getWaitingCount();
  }

  async list(limit: number): Promise<DeadLetterView[]> {
    const jobs = await this.queue.getWaiting(0, limit - 1);
    return jobs.map((job) => ({ id: String(job.id), ...job.data }));
  }

  private async jobs(ids?: readonly string[]): Promise<Job<DeadLetter>[]> {
    if (ids === undefined) return this.queue.getWaiting(0, -1);
    const found = await Promise.all(ids.map((id) => this.queue.getJob(id)));
    return found.filter((job): job is Job<DeadLetter> => job !== undefined && job !== null);
  }

  /**
   * Appends each letter's entry to its stream again (once), then removes the letter; drops
   * a letter whose entry a consumer applied, keeps one whose entry is still pending.
   */
  async replay(ids?: readonly string[]): Promise<ReplayOutcome> {
    const outcome: ReplayOutcome = { replayed: 0, already_applied: 0, still_pending: 0 };
    const { keyPrefix, streamPartitions, consumerGroup } = this.config;
    for (const job of await this.jobs(ids)) {
      const { partition, entry_id: entryId, fields, marked_on_ack: markerRequired = false } = job.data;
      const result = await replayEntry(this.redis, keyPrefix, streamPartitions, consumerGroup, {
        partition,
        entryId,
        fields,
        markerRequired,
      });
      if (result === 'pending') {
        outcome.still_pending++;
        continue;
      }
      if (result === 'replayed') outcome.replayed++;
      if (result === 'applied') outcome.already_applied++;
      await job.remove();
    }
    return outcome;
  }

  /** Unmarks each entry first: a crash before its letter goes leaves a letter replay drops, never one it appends. */
  async purge(ids?: readonly string[]): Promise<number> {
    const jobs = await this.jobs(ids);
    for (const job of jobs) {
      await unmarkDeadLetter(this.redis, this.config.keyPrefix, this.config.streamPartitions, job.data.partition, job.data.entry_id);
      await job.remove();
    }
    return jobs.length;
  }

  /**
   * Closing while BullMQ's connection is still being set up makes that set-up fail with an
   * 'error' nobody listens to any more (an unhandled error in the process): let it finish
   * first, for a bounded time (Redis may be down; then there is nothing to race).
   */
  async close(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.queue.waitUntilReady().catch(() => undefined),
      new Promise((resolve) => {
        timer = setTimeout(resolve, CLOSE_READY_WAIT_MS);
      }),
    ]);
    clearTimeout(timer);
    await this.queue.close();
    await this.bull.close();
  }
}

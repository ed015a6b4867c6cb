/**
 * The dead-letter queue (a BullMQ queue nobody consumes): entries that can never be
 * applied wait here with their payload and reason until they are replayed or purged.
 */
import { Queue, type Job } from 'bullmq';
import type { Config } from './config';
import { globalKeys } from './store/keys';
import { replayEntry } from './store/dead-letter-replay';
import { bullConnection, type BullConnection, type RedisClient } from './redis';

export interface DeadLetter {
  partition: number;
  entry_id: string;
  /** The stream entry's field/value pairs, as read. */
  fields: string[];
  reason: string;
  deliveries: number;
  failed_at: string;
}

export interface DeadLetterView extends DeadLetter {
  id: string;
}

const QUEUE = 'dead-letters';
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

  /** Adds a letter; the job id is the entry, so a repeated add (after a crash) is a no-op. */
  async add(letter: DeadLetter): Promise<void> {
    await this.queue.add('dead-letter', letter, { jobId: `${letter.partition}-${letter.entry_id}` });
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

  /** Appends each letter's entry to its stream again (once), then removes the letter. */
  async replay(ids?: readonly string[]): Promise<number> {
    let replayed = 0;
    for (const job of await this.jobs(ids)) {
      if (
        await replayEntry(
          this.redis,
          this.config.keyPrefix,
          job.data.partition,
          this.config.streamPartitions,
          job.data.entry_id,
          job.data.fields,
        )
      )
        replayed++;
      await job.remove();
    }
    return replayed;
  }

  async purge(ids?: readonly string[]): Promise<number> {
    const jobs = await this.jobs(ids);
    for (const job of jobs) await job.remove();
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

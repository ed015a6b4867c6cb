/**
 * The maintenance job: a BullMQ job scheduler emits one job per interval and each job goes
 * to exactly one worker replica, however many are scaled out. A tick trims the partition
 * streams safely and removes consumers that left for good (pending entries of dead
 * consumers are taken over by the live ones' XAUTOCLAIM), unlinks the nodes' 1-second
 * buckets past their retention, then records the pipeline figures that /metrics exports.
 */
import { Queue, Worker } from 'bullmq';
import type { Config } from '../shared/config';
import { globalKeys, type PartitionKeys } from '../shared/store/keys';
import type { DeadLetterQueue } from '../shared/dead-letter-queue';
import type { Logger } from '../shared/logger';
import { ThrottledWarnings } from '../shared/throttled-warnings';
import { figuresOf } from '../shared/pipeline-figures';
import { readRecordedFigures, recordFigures } from '../shared/store/recorded-figures';
import { readPipelineStatus } from '../shared/pipeline-status';
import { bullConnection, isCluster, type BullConnection, type RedisClient } from '../shared/redis';
import { unlinkPastNodeSeconds } from '../shared/store/node-seconds-retention';
import { lastMinuteNodeSecondsFields } from '../shared/store/node-seconds-size';
import { tidyPartition, type JanitorReport } from './stream-janitor';

const QUEUE = 'maintenance';
const SCHEDULER_ID = 'pipeline-maintenance';
/** Past this many fields a minute hash takes over 100 ms to migrate (bench:slot-move). */
const LARGE_MINUTE_HASH_FIELDS = 50_000;

export class Maintenance {
  private readonly queue: Queue;
  private readonly worker: Worker;
  private readonly bull: BullConnection;
  private readonly warnings: ThrottledWarnings;
  private retryTimer: NodeJS.Timeout | undefined;
  private closed = false;
  /** Ticks this replica ran (for tests and logs). */
  readonly ticks: { jobId: string; reports: JanitorReport[]; unlinkedMinutes: number }[] = [];

  constructor(
    private readonly config: Config,
    private readonly redis: RedisClient,
    private readonly partitions: readonly PartitionKeys[],
    private readonly deadLetters: DeadLetterQueue,
    private readonly logger: Logger,
  ) {
    this.bull = bullConnection(config);
    const connection = this.bull.connection;
    const prefix = globalKeys(config.keyPrefix).bullPrefix;
    this.queue = new Queue(QUEUE, { connection, prefix });
    this.worker = new Worker(QUEUE, async (job) => this.tick(String(job.id)), {
      connection,
      prefix,
      concurrency: 1,
      autorun: false,
    });
    // BullMQ reports a refused write (Redis out of memory) on every poll: rate-limited.
    this.warnings = new ThrottledWarnings(logger);
    this.queue.on('error', (error) => this.warnings.warn('queue', { err: error.message }, 'maintenance queue error'));
    this.worker.on('error', (error) => this.warnings.warn('worker', { err: error.message }, 'maintenance worker error'));
  }

  /**
   * Declares the scheduler and starts taking ticks. When Redis refuses (out of memory, say)
   * it keeps trying in the background: the worker must start and consume anyway.
   */
  async start(): Promise<void> {
    try {
      // Upserting is idempotent: every replica declares the same scheduler.
      await this.queue.upsertJobScheduler(
        SCHEDULER_ID,
        { every: this.config.maintenanceIntervalMs },
        { name: 'tick', opts: { removeOnComplete: 50, removeOnFail: 50 } },
      );
    } catch (error) {
      this.warnings.warn('start', { err: (error as Error).message }, 'cannot schedule maintenance yet; retrying');
      if (!this.closed) {
        this.retryTimer = setTimeout(() => void this.start(), Math.min(this.config.maintenanceIntervalMs, 5000));
        this.retryTimer.unref();
      }
      return;
    }
    if (!this.closed) void this.worker.run();
  }

  async tick(jobId: string): Promise<JanitorReport[]> {
    const reports: JanitorReport[] = [];
    let unlinkedMinutes = 0;
    const nodeSecondsFields = new Map<number, number>();
    for (const keys of this.partitions) {
      reports.push(await tidyPartition(this.redis, keys, this.config.consumerGroup, this.config.consumerExpiryMs));
      unlinkedMinutes += await unlinkPastNodeSeconds(this.redis, keys, Date.now());
      nodeSecondsFields.set(keys.partition, await lastMinuteNodeSecondsFields(this.redis, keys, Date.now()));
    }
    this.warnOfLargeMinuteHashes(nodeSecondsFields);
    const status = await readPipelineStatus(this.redis, this.partitions, this.config.consumerGroup);
    const previous = await readRecordedFigures(this.redis, this.config.keyPrefix).catch(() => null);
    const figures = figuresOf(
      status,
      await this.deadLetters.count(),
      new Date(),
      previous,
      this.config.partitionStallAfterMs,
      nodeSecondsFields,
    );
    for (const p of figures.partitions) {
      if (p.stalled && !previous?.partitions.find((q) => q.partition === p.partition)?.stalled) {
        this.logger.error(
          { partition: p.partition, oldestPendingId: p.oldest_pending_id },
          'partition stalled: its oldest pending entry is not advancing',
        );
      }
    }
    await recordFigures(this.redis, this.config.keyPrefix, figures, this.config.maintenanceIntervalMs * 10);
    this.ticks.push({ jobId, reports, unlinkedMinutes });
    const trimmed = reports.reduce((n, r) => n + r.trimmed, 0);
    const removed = reports.flatMap((r) => r.removedConsumers);
    if (trimmed > 0 || removed.length > 0 || unlinkedMinutes > 0) {
      this.logger.info({ trimmed, removedConsumers: removed, unlinkedNodeSecondMinutes: unlinkedMinutes }, 'maintenance');
    }
    return reports;
  }

  /**
   * On a Redis Cluster, moving a partition's slot migrates each minute hash whole, its master
   * blocked meanwhile: about 100 ms for 50,000 fields, 500 ms for 150,000 (docs/BENCHMARKS.md).
   */
  private warnOfLargeMinuteHashes(fields: ReadonlyMap<number, number>): void {
    const largest = Math.max(0, ...fields.values());
    if (!isCluster(this.redis) || largest <= LARGE_MINUTE_HASH_FIELDS) return;
    this.warnings.warn(
      'minute-hash',
      { largestFields: largest, partitions: this.partitions.length },
      `a partition's node seconds of one minute hold ${largest} fields; moving its slot on a Redis Cluster blocks its master for each such hash: raise STREAM_PARTITIONS (docs/RUNBOOK.md, "Moving slots")`,
    );
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retryTimer);
    await Promise.allSettled([this.worker.close(), this.queue.close()]);
    await this.bull.close();
  }
}

/**
 * Consumes one partition stream through the consumer group: first its own pending entries,
 * then new ones with a blocking read on a connection of its own, and now and then entries
 * that other consumers left idle too long (XAUTOCLAIM, following the cursor).
 */
import type { Config } from '../shared/config';
import { decodeEntry, EntryDecodeError } from '../shared/entry-codec';
import type { PartitionKeys } from '../shared/keys';
import type { Logger } from '../shared/logger';
import type { RedisClient } from '../shared/redis';
import { ensureGroup } from '../shared/stream-groups';
import { TimeoutWatchdog } from '../shared/timeout-watchdog';
import { ThrottledWarnings } from '../shared/throttled-warnings';
import { isOutOfMemory } from '../shared/redis-memory';
import { recordedPartitionCount } from '../shared/partition-count';
import type { DeadLetterQueue } from '../shared/dead-letter-queue';
import type { AggregateStore, DecodedEntry } from './aggregate-store';
import type { WorkerMetrics } from './metrics';

type RawEntry = [id: string, fields: string[] | null];

/** Most samples folded into one atomic apply; bounds the script's run time. */
const MAX_SAMPLES_PER_APPLY = 5000;

export interface ConsumerDeps {
  config: Config;
  /** Shared connection for scripts and claims. */
  redis: RedisClient;
  /** This consumer's own connection for blocking reads. */
  reader: RedisClient;
  store: AggregateStore;
  deadLetters: DeadLetterQueue;
  metrics: WorkerMetrics;
  logger: Logger;
}

export class StreamConsumer {
  private stopping = false;
  private running: Promise<void> | undefined;
  private claimCursor = '0-0';
  private nextClaimAt = 0;
  /** Last time the loop went round; the liveness probe reads it. */
  heartbeat = Date.now();
  private readonly watchdog: TimeoutWatchdog;
  private readonly warnings: ThrottledWarnings;

  constructor(
    private readonly keys: PartitionKeys,
    private readonly deps: ConsumerDeps,
  ) {
    this.warnings = new ThrottledWarnings(deps.logger);
    this.watchdog = new TimeoutWatchdog([deps.reader, deps.redis], () =>
      deps.logger.warn({ partition: keys.partition }, 'Redis keeps timing out; reconnecting'),
    );
  }

  start(): void {
    this.running ??= this.loop();
  }

  /** Stops after the current batch; a blocking read ends within WORKER_BLOCK_MS. */
  async stop(): Promise<void> {
    this.stopping = true;
    await this.running;
  }

  private async loop(): Promise<void> {
    const { config, metrics } = this.deps;
    let backoff = 50;
    let ownPendingDone = false;
    while (!this.stopping) {
      this.heartbeat = Date.now();
      try {
        if (!ownPendingDone) {
          ownPendingDone = await this.drainOwnPending();
          continue;
        }
        if (Date.now() >= this.nextClaimAt) await this.reclaimIdle();
        const reply = (await this.deps.reader.xreadgroup(
          'GROUP',
          config.consumerGroup,
          config.workerConsumerName,
          'COUNT',
          config.workerBatchSize,
          'BLOCK',
          config.workerBlockMs,
          'STREAMS',
          this.keys.stream,
          '>',
        )) as [string, RawEntry[]][] | null;
        if (reply?.[0]) await this.process(reply[0][1]);
        backoff = 50;
        this.watchdog.observe(undefined);
      } catch (error) {
        if (this.stopping) break;
        metrics.readErrors.inc();
        const message = (error as Error).message ?? '';
        // Entries read just before the failure may be pending on us: re-read them first.
        ownPendingDone = false;
        if (message.startsWith('NOGROUP')) {
          // Redis lost the stream (restart without persistence): recreate and go on, unless
          // the partition count changed (the stream was removed): then wait for a restart.
          const recorded = await recordedPartitionCount(this.deps.redis, config.keyPrefix).catch(() => null);
          if (recorded !== null && recorded !== config.streamPartitions) {
            this.warnings.warn(
              'recount',
              { partition: this.keys.partition, recorded },
              `the data now has ${recorded} partitions; restart this worker with STREAM_PARTITIONS=${recorded}`,
            );
          } else {
            await ensureGroup(this.deps.redis, this.keys.stream, config.consumerGroup).catch(() => undefined);
          }
        } else if (isOutOfMemory(error)) {
          this.warnings.warn(
            'oom',
            { partition: this.keys.partition, err: message },
            'Redis is out of memory and refuses the apply; retrying until it frees memory (docs/RUNBOOK.md)',
          );
        } else {
          this.warnings.warn('failed', { partition: this.keys.partition, err: message }, 'stream read or apply failed; retrying');
        }
        this.watchdog.observe(error);
        await sleep(backoff);
        backoff = Math.min(backoff * 2, 2000);
      }
    }
  }

  /** Re-reads this consumer's own pending entries (from before a restart). True when none remain. */
  private async drainOwnPending(): Promise<boolean> {
    const { config } = this.deps;
    let after = '0';
    for (;;) {
      const reply = (await this.deps.redis.xreadgroup(
        'GROUP',
        config.consumerGroup,
        config.workerConsumerName,
        'COUNT',
        config.workerBatchSize,
        'STREAMS',
        this.keys.stream,
        after,
      )) as [string, RawEntry[]][] | null;
      const entries = reply?.[0]?.[1] ?? [];
      if (entries.length === 0) return true;
      await this.process(entries);
      after = entries[entries.length - 1]![0];
      if (this.stopping) return false;
    }
  }

  /** Takes over entries idle longer than WORKER_CLAIM_IDLE_MS, following XAUTOCLAIM's cursor. */
  private async reclaimIdle(): Promise<void> {
    const { config, metrics } = this.deps;
    const [cursor, entries] = (await this.deps.redis.xautoclaim(
      this.keys.stream,
      config.consumerGroup,
      config.workerConsumerName,
      config.workerClaimIdleMs,
      this.claimCursor,
      'COUNT',
      config.workerBatchSize,
    )) as [string, RawEntry[], string[]];
    this.claimCursor = cursor;
    // A full pass ended: wait for the next interval; otherwise continue on the next round.
    if (cursor === '0-0') this.nextClaimAt = Date.now() + config.workerClaimIntervalMs;
    if (entries.length > 0) {
      metrics.entriesReclaimed.inc(entries.length);
      await this.process(entries);
    }
  }

  private async process(raw: RawEntry[]): Promise<void> {
    let batch: DecodedEntry[] = [];
    const fieldsOf = new Map<string, string[]>();
    let samples = 0;
    const flush = async () => {
      if (batch.length > 0) await this.applyOrIsolate(batch, fieldsOf);
      batch = [];
      samples = 0;
    };
    for (const [id, fields] of raw) {
      if (fields === null) continue; // trimmed while pending: nothing left to apply
      let decoded: DecodedEntry;
      try {
        decoded = { id, samples: decodeEntry(fields) };
      } catch (error) {
        if (!(error instanceof EntryDecodeError)) throw error;
        await this.failed(id, fields, `cannot decode: ${error.message}`);
        continue;
      }
      if (samples > 0 && samples + decoded.samples.length > MAX_SAMPLES_PER_APPLY) await flush();
      batch.push(decoded);
      fieldsOf.set(id, fields);
      samples += decoded.samples.length;
    }
    await flush();
  }

  /** Applies a batch; when Redis rejects it (not a connection problem), finds the entry at fault. */
  private async applyOrIsolate(batch: DecodedEntry[], fieldsOf: Map<string, string[]>): Promise<void> {
    const { metrics, store } = this.deps;
    try {
      const outcome = await store.apply(this.keys, batch);
      metrics.entriesApplied.inc(outcome.applied);
      metrics.samplesApplied.inc(outcome.samples);
      metrics.entriesSkipped.inc(outcome.skipped);
    } catch (error) {
      // Out of memory is Redis's state, not the entries' fault: retried, never dead-lettered.
      if ((error as Error).name !== 'ReplyError' || isOutOfMemory(error)) throw error;
      if (batch.length === 1) {
        await this.failed(batch[0]!.id, fieldsOf.get(batch[0]!.id) ?? [], `apply failed: ${(error as Error).message}`);
        return;
      }
      for (const entry of batch) await this.applyOrIsolate([entry], fieldsOf);
    }
  }

  /**
   * An entry that failed: left pending for redelivery until it has been delivered
   * DEAD_LETTER_AFTER_DELIVERIES times, then moved to the dead-letter queue and acknowledged.
   */
  private async failed(id: string, fields: string[], reason: string): Promise<void> {
    const { config, metrics, logger, redis, deadLetters } = this.deps;
    metrics.poisonEntries.inc();
    const pending = (await redis.xpending(this.keys.stream, config.consumerGroup, id, id, 1)) as [string, string, number, number][];
    const deliveries = Number(pending[0]?.[3] ?? 0);
    if (pending.length === 0) return; // handled by another consumer meanwhile
    if (deliveries < config.deadLetterAfterDeliveries) {
      logger.warn({ partition: this.keys.partition, id, deliveries, reason }, 'entry failed; left pending for redelivery');
      return;
    }
    // The job id is the entry: if we crash before XACK, the redelivery adds nothing new.
    await deadLetters.add({
      partition: this.keys.partition,
      entry_id: id,
      fields,
      reason,
      deliveries,
      failed_at: new Date().toISOString(),
    });
    await redis.xack(this.keys.stream, config.consumerGroup, id);
    metrics.deadLettered.inc();
    logger.error({ partition: this.keys.partition, id, deliveries, reason }, 'entry moved to the dead-letter queue');
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

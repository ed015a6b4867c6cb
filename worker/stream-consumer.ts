/**
 * Consumes one partition stream through the consumer group: first its own pending entries,
 * then new ones with a blocking read on a connection of its own, and now and then entries
 * that other consumers left idle too long (XAUTOCLAIM, following the cursor).
 *
 * A failed apply never wedges the partition: transient failures (Redis unreachable, out
 * of memory) are retried with back-off; anything else is narrowed down to the entry at
 * fault, which goes to the dead-letter queue. An owner that keeps failing on its own
 * pending entries stops re-reading them, so they go idle and another worker claims them;
 * and it reports itself stalled, so the liveness probe restarts it.
 */
import type { Config } from '../shared/config';
import { decodeEntry } from '../shared/store/entry-codec';
import type { PartitionKeys } from '../shared/store/keys';
import type { Logger } from '../shared/logger';
import type { RedisClient } from '../shared/redis';
import { ensureGroup } from '../shared/store/stream-groups';
import { TimeoutWatchdog } from '../shared/timeout-watchdog';
import { ThrottledWarnings } from '../shared/throttled-warnings';
import { isNoGroup, isOutOfMemory } from '../shared/store/redis-errors';
import { recordedPartitionCount } from '../shared/store/partition-count';
import type { DeadLetterQueue } from '../shared/dead-letter-queue';
import type { AggregateStore, DecodedEntry } from '../shared/store/batch-apply';
import { PartitionStream, type RawEntry } from '../shared/store/partition-stream';
import { idAgeMs } from '../shared/stream-ids';
import { classifyFailure, type FailureKind } from './apply-failures';
import type { WorkerMetrics } from './metrics';
import { ReadSize } from './read-size';
import { readLingerMs, type LastRead } from './read-linger';

/**
 * About how many samples one read hands to decoding and planning (a few hundred ms of
 * synchronous work at most, so the other partitions' replies never wait seconds).
 */
const MAX_SAMPLES_PER_READ = 20_000;

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
  /** Last time this consumer applied something or held nothing. */
  private progressAt = Date.now();
  /** Entries read and not yet settled (applied, skipped or dead-lettered). */
  private inFlight = false;
  /** Own pending entries left for another worker to claim after failures. */
  private released = false;
  private nextReleaseProbeAt = 0;
  private lastFailureOutOfMemory = false;
  /** The last read of new entries found some, but fewer than it asked for: the next read lingers first. */
  private lingerFirst = false;
  /** How long the last batch of new entries took to process (ms): the next linger is at least as long (read-linger.ts). */
  private lastBatchMs = 0;
  /** What the last read of new entries found, and when it returned: a busy thin stream lingers longer. */
  private lastRead: LastRead | undefined;
  private lastReadAt = 0;
  private readonly watchdog: TimeoutWatchdog;
  private readonly warnings: ThrottledWarnings;
  private readonly stream: PartitionStream;
  private readonly readSize: ReadSize;

  constructor(
    private readonly keys: PartitionKeys,
    private readonly deps: ConsumerDeps,
  ) {
    this.watchdog = new TimeoutWatchdog([deps.reader, deps.redis], () =>
      deps.logger.warn({ partition: keys.partition }, 'Redis keeps timing out; reconnecting'),
    );
    this.warnings = new ThrottledWarnings(deps.logger);
    this.stream = new PartitionStream(keys, deps.redis, deps.reader, deps.config.consumerGroup, deps.config.workerConsumerName);
    this.readSize = new ReadSize(deps.config.workerBatchSize, MAX_SAMPLES_PER_READ);
  }

  start(): void {
    this.running ??= this.loop();
  }

  /**
   * True when this consumer holds pending entries it has not advanced for
   * PARTITION_STALL_AFTER_MS (a restart may help). Not while Redis refuses writes for lack
   * of memory: every worker waits for memory then, and restarting changes nothing.
   */
  stalled(now = Date.now()): boolean {
    if (!this.inFlight && !this.released) return false;
    if (this.lastFailureOutOfMemory) return false;
    return now - this.progressAt >= this.deps.config.partitionStallAfterMs;
  }

  /** Progress also proves the loop alive: a long batch of many bounded calls is not a hang. */
  private progress(): void {
    this.progressAt = Date.now();
    this.heartbeat = this.progressAt;
  }

  /** Nothing is pending on this consumer any more. */
  private holdNothing(): void {
    this.inFlight = false;
    this.released = false;
    this.progress();
  }

  /** Stops after the current batch; a blocking read ends within WORKER_BLOCK_MS. */
  async stop(): Promise<void> {
    this.stopping = true;
    await this.running;
  }

  private async loop(): Promise<void> {
    const { config, logger, metrics } = this.deps;
    let backoff = 50;
    let ownPendingDone = false;
    /** Start of the current run of failed rounds, 0 while the last round went well. */
    let failingSince = 0;
    while (!this.stopping) {
      this.heartbeat = Date.now();
      try {
        if (!ownPendingDone) {
          ownPendingDone = await this.drainOwnPending();
          if (ownPendingDone) this.holdNothing();
          continue;
        }
        if (this.released && Date.now() >= this.nextReleaseProbeAt) await this.probeReleased();
        if (Date.now() >= this.nextClaimAt) await this.reclaimIdle();
        const entries = await this.readNew();
        const readAt = performance.now();
        const windowMs = readAt - this.lastReadAt;
        this.lastReadAt = readAt;
        if (entries.length > 0) {
          const startedAt = performance.now();
          const samples = await this.process(entries);
          this.lastBatchMs = performance.now() - startedAt;
          this.lastRead = { samples, windowMs };
        } else if (!this.inFlight && !this.released) this.progress();
        backoff = 50;
        failingSince = 0;
        this.lastFailureOutOfMemory = false;
        this.watchdog.observe(undefined);
      } catch (error) {
        if (this.stopping) break;
        metrics.readErrors.inc();
        const message = (error as Error).message ?? '';
        failingSince ||= Date.now();
        this.lastFailureOutOfMemory = isOutOfMemory(error);
        // Entries read just before the failure may be pending on us: re-read them first,
        // unless that has kept failing for WORKER_CLAIM_IDLE_MS: then leave them to go idle,
        // so another worker's claim takes them over (re-reading keeps them busy on us).
        ownPendingDone = Date.now() - failingSince >= config.workerClaimIdleMs;
        if (ownPendingDone && !this.released) {
          this.released = true;
          logger.warn(
            { partition: this.keys.partition, failingForMs: Date.now() - failingSince },
            'leaving own pending entries for another worker to claim',
          );
        }
        if (isNoGroup(error)) {
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

  /**
   * New entries, up to WORKER_BATCH_SIZE and about MAX_SAMPLES_PER_READ samples. While the
   * stream trickles (the last read found some, but fewer than it asked for), the read waits
   * WORKER_BATCH_LINGER_MS first (longer after a batch that took longer, or while thin
   * entries stream in: read-linger.ts), so each apply carries more entries (Redis work per
   * call is mostly per bucket and per key, not per sample) for one read, not two. A full
   * read, or an idle stream, reads at once.
   */
  private async readNew(): Promise<RawEntry[]> {
    const { config } = this.deps;
    const count = this.readSize.count;
    if (this.lingerFirst && config.workerBatchLingerMs > 0) {
      await sleep(readLingerMs(config.workerBatchLingerMs, this.lastBatchMs, this.lastRead));
    }
    const entries = await this.stream.readNew(count, config.workerBlockMs);
    this.lingerFirst = entries.length > 0 && entries.length < count;
    return entries;
  }

  /** Re-reads this consumer's own pending entries (from before a restart). True when none remain. */
  private async drainOwnPending(): Promise<boolean> {
    let after = '0';
    for (;;) {
      const entries = await this.stream.readOwnPending(after, this.readSize.count);
      if (entries.length === 0) return true;
      await this.process(entries);
      after = entries[entries.length - 1]![0];
      if (this.stopping) return false;
    }
  }

  /** Takes over entries idle longer than WORKER_CLAIM_IDLE_MS, following XAUTOCLAIM's cursor. */
  private async reclaimIdle(): Promise<void> {
    const { config, metrics } = this.deps;
    const { cursor, entries } = await this.stream.claimIdle(config.workerClaimIdleMs, this.claimCursor, this.readSize.count);
    this.claimCursor = cursor;
    // A full pass ended: wait for the next interval; otherwise continue on the next round.
    if (cursor === '0-0') this.nextClaimAt = Date.now() + config.workerClaimIntervalMs;
    if (entries.length > 0) {
      metrics.entriesReclaimed.inc(entries.length);
      await this.process(entries);
    }
  }

  /** After a release: are the entries still pending on us, or did another worker take them? */
  private async probeReleased(): Promise<void> {
    const { config } = this.deps;
    this.nextReleaseProbeAt = Date.now() + Math.min(5000, Math.max(100, config.partitionStallAfterMs / 4));
    if (!(await this.stream.holdsPending())) this.holdNothing();
  }

  /** Settles the entries; answers how many samples they held. */
  private async process(raw: RawEntry[]): Promise<number> {
    this.inFlight = true;
    const samples = await this.settle(raw);
    this.inFlight = false;
    this.progress();
    return samples;
  }

  private async settle(raw: RawEntry[]): Promise<number> {
    const batch: DecodedEntry[] = [];
    const fieldsOf = new Map<string, string[]>();
    for (const [id, fields] of raw) {
      if (fields === null) continue; // trimmed while pending: nothing left to apply
      let samples;
      try {
        samples = decodeEntry(fields);
      } catch (error) {
        // However decoding fails, the same bytes fail again: no retry helps.
        await this.deadLetter(id, fields, `cannot decode: ${(error as Error).message}`, 1);
        continue;
      }
      batch.push({ id, samples });
      fieldsOf.set(id, fields);
    }
    const samples = batch.reduce((n, e) => n + e.samples.length, 0);
    this.readSize.observe(batch.length, samples);
    if (batch.length > 0) await this.applyOrIsolate(batch, fieldsOf);
    return samples;
  }

  /**
   * Applies a batch (the store bounds each script call). When it fails for a reason other
   * than Redis being unavailable, halves the batch until the entry at fault is alone.
   */
  private async applyOrIsolate(batch: DecodedEntry[], fieldsOf: Map<string, string[]>): Promise<void> {
    try {
      await this.applyCounted(batch);
    } catch (error) {
      const kind = classifyFailure(error);
      if (kind === 'transient') throw error;
      if (batch.length > 1) {
        const half = Math.ceil(batch.length / 2);
        await this.applyOrIsolate(batch.slice(0, half), fieldsOf);
        await this.applyOrIsolate(batch.slice(half), fieldsOf);
        return;
      }
      await this.retryOrDeadLetter(batch[0]!, fieldsOf.get(batch[0]!.id) ?? [], error, kind);
    }
  }

  private async applyCounted(batch: DecodedEntry[]): Promise<void> {
    const { metrics, store } = this.deps;
    const outcome = await store.applyBatch(this.keys, batch, () => this.progress());
    // With a skip, which entries this apply counted is unknown: the other delivery observed them.
    if (outcome.skipped === 0) observeApplyDelays(metrics, batch, Date.now());
    metrics.entriesApplied.inc(outcome.applied);
    metrics.samplesApplied.inc(outcome.samples);
    metrics.entriesSkipped.inc(outcome.skipped);
  }

  /**
   * One entry that failed alone: a deterministic failure goes to the dead-letter queue at
   * once; an unexpected error is retried in place up to DEAD_LETTER_AFTER_DELIVERIES attempts.
   */
  private async retryOrDeadLetter(entry: DecodedEntry, fields: string[], firstError: unknown, firstKind: FailureKind): Promise<void> {
    const { config, metrics } = this.deps;
    let error = firstError;
    let kind = firstKind;
    let attempts = 1;
    while (kind === 'unexpected' && attempts < config.deadLetterAfterDeliveries) {
      metrics.poisonEntries.inc();
      await sleep(Math.min(50 * 2 ** (attempts - 1), 1000));
      attempts += 1;
      try {
        await this.applyCounted([entry]);
        return;
      } catch (again) {
        kind = classifyFailure(again);
        if (kind === 'transient') throw again;
        error = again;
      }
    }
    await this.deadLetter(entry.id, fields, `apply failed: ${(error as Error)?.message ?? String(error)}`, attempts);
  }

  /** Moves a failed entry to the dead-letter queue and acknowledges it (idempotent: the job id is the entry), unless a consumer applied it meanwhile. */
  private async deadLetter(id: string, fields: string[], reason: string, attempts: number): Promise<void> {
    const { metrics, logger, deadLetters } = this.deps;
    metrics.poisonEntries.inc();
    const deliveries = await this.stream.deliveriesOf(id);
    if (deliveries === null) return; // handled by another consumer meanwhile
    // An entry applied in parts may have failed after some of them: say so, replay would repeat them.
    const partsApplied = await this.stream.partsApplied(id);
    const note = partsApplied > 0 ? ` (${partsApplied} of its parts were applied before the failure; a replay applies them again)` : '';
    await deadLetters.add({
      partition: this.keys.partition,
      entry_id: id,
      fields,
      reason: reason + note,
      deliveries,
      failed_at: new Date().toISOString(),
    });
    const acknowledgement = await this.stream.acknowledgeDeadLettered(id);
    this.progress();
    if (acknowledgement === 'applied') {
      // Another consumer applied it after our pending check: its letter would count it twice.
      await deadLetters.remove(this.keys.partition, id);
      logger.warn({ partition: this.keys.partition, id }, 'entry applied by another consumer while being dead-lettered: no letter kept');
      return;
    }
    if (acknowledgement === 'acknowledged-before') return; // another consumer dead-lettered it
    metrics.deadLettered.inc();
    logger.error({ partition: this.keys.partition, id, deliveries, attempts, reason }, 'entry moved to the dead-letter queue');
  }
}

function observeApplyDelays(metrics: WorkerMetrics, entries: readonly DecodedEntry[], committedAt: number): void {
  for (const { id } of entries) metrics.applyDelay.observe(idAgeMs(id, committedAt) / 1000);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

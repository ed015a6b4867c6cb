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

  constructor(
    private readonly keys: PartitionKeys,
    private readonly deps: ConsumerDeps,
  ) {}

  start(): void {
    this.running ??= this.loop();
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
    while (!this.stopping) {
      this.heartbeat = Date.now();
      try {
        if (!ownPendingDone) {
          ownPendingDone = await this.drainOwnPending();
          continue;
        }
        if (Date.now() >= this.nextClaimAt) await this.reclaimIdle();
        const reply = (await this.deps.reader.xreadgroup(
          'GROUP', config.consumerGroup, config.workerConsumerName,
          'COUNT', config.workerBatchSize, 'BLOCK', config.workerBlockMs,
          'STREAMS', this.keys.stream, '>',
        )) as [string, RawEntry[]][] | null;
        if (reply?.[0]) await this.process(reply[0][1]);
        backoff = 50;
      } catch (error) {
        if (this.stopping) break;
        metrics.readErrors.inc();
        const message = (error as Error).message ?? '';
        if (message.startsWith('NOGROUP')) {
          // Redis lost the stream (restart without persistence): recreate and go on.
          await ensureGroup(this.deps.redis, this.keys.stream, config.consumerGroup).catch(() => undefined);
          ownPendingDone = false;
        } else {
          logger.warn({ partition: this.keys.partition, err: message }, 'stream read or apply failed; retrying');
        }
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
        'GROUP', config.consumerGroup, config.workerConsumerName,
        'COUNT', config.workerBatchSize, 'STREAMS', this.keys.stream, after,
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
      this.keys.stream, config.consumerGroup, config.workerConsumerName,
      config.workerClaimIdleMs, this.claimCursor, 'COUNT', config.workerBatchSize,
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
    const { metrics, logger, store } = this.deps;
    let batch: DecodedEntry[] = [];
    let samples = 0;
    const flush = async () => {
      if (batch.length === 0) return;
      const outcome = await store.apply(this.keys, batch);
      metrics.entriesApplied.inc(outcome.applied);
      metrics.samplesApplied.inc(outcome.samples);
      metrics.entriesSkipped.inc(outcome.skipped);
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
        metrics.poisonEntries.inc();
        logger.error({ partition: this.keys.partition, id, reason: error.message }, 'entry cannot be decoded; left pending');
        continue;
      }
      if (samples > 0 && samples + decoded.samples.length > MAX_SAMPLES_PER_APPLY) await flush();
      batch.push(decoded);
      samples += decoded.samples.length;
    }
    await flush();
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * The agent's outbox: batches wait here until the service accepts them. Each batch keeps one
 * Idempotency-Key for all its attempts, so a retry after a lost answer is never counted twice.
 */
import { randomUUID } from 'node:crypto';
import { serviceError, type ApiClient } from '../api-client';
import { CliError, EXIT } from '../cli-error';

export interface Batch {
  key: string;
  items: Record<string, unknown>[];
  createdAt: number;
  attempts: number;
}

export interface OutboxEvents {
  delivered(batch: Batch, status: number): void;
  /** A retryable failure: the batch stays queued until `retryInMs` from now. */
  deferred(error: CliError, retryInMs: number, queued: number): void;
  /** The service refused the batch for good (a 4xx other than 408/429): it is dropped. */
  rejected(batch: Batch, error: CliError): void;
  /** The buffer was full: the oldest batch was dropped. */
  overflowed(batch: Batch): void;
}

export interface OutboxOptions {
  maxBatches: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Samples carry their time; the service refuses ones older than 24 h, so do not keep those. */
  maxAgeMs?: number;
}

const RETRYABLE = (status: number) => status === 408 || status === 429 || status >= 500;

export class Outbox {
  private readonly queue: Batch[] = [];
  private failures = 0;
  private nextAttemptAt = 0;
  private sending: Promise<void> | undefined;

  constructor(
    private readonly client: ApiClient,
    private readonly events: OutboxEvents,
    private readonly options: OutboxOptions,
  ) {}

  get size(): number {
    return this.queue.length;
  }

  get samples(): number {
    return this.queue.reduce((n, b) => n + b.items.length, 0);
  }

  /** When the next attempt is due (0 = now); the owner sleeps until then. */
  get dueAt(): number {
    return this.queue.length === 0 ? Infinity : this.nextAttemptAt;
  }

  add(items: Record<string, unknown>[]): Batch {
    const batch: Batch = { key: randomUUID(), items, createdAt: Date.now(), attempts: 0 };
    this.queue.push(batch);
    while (this.queue.length > this.options.maxBatches) this.events.overflowed(this.queue.shift()!);
    return batch;
  }

  /** Sends queued batches oldest first until one fails; concurrent calls share one pass. */
  flush(options: { ignoreBackoff?: boolean } = {}): Promise<void> {
    this.sending ??= this.pass(options.ignoreBackoff === true).finally(() => (this.sending = undefined));
    return this.sending;
  }

  private async pass(ignoreBackoff: boolean): Promise<void> {
    if (!ignoreBackoff && Date.now() < this.nextAttemptAt) return;
    const maxAgeMs = this.options.maxAgeMs ?? 23 * 3600 * 1000;
    while (this.queue.length > 0) {
      const batch = this.queue[0]!;
      if (Date.now() - batch.createdAt > maxAgeMs) {
        this.queue.shift();
        this.events.rejected(batch, new CliError('the batch is older than the service accepts (24 h); dropped', EXIT.serviceError));
        continue;
      }
      batch.attempts += 1;
      const outcome = await this.attempt(batch);
      if (outcome.ok) {
        this.queue.shift();
        this.failures = 0;
        this.nextAttemptAt = 0;
        this.events.delivered(batch, outcome.status);
      } else if (outcome.retryable) {
        this.failures += 1;
        const delay = Math.max(outcome.retryAfterMs ?? 0, this.backoffMs());
        this.nextAttemptAt = Date.now() + delay;
        this.events.deferred(outcome.error, delay, this.queue.length);
        return;
      } else {
        this.queue.shift();
        this.events.rejected(batch, outcome.error);
      }
    }
  }

  /** Exponential backoff with jitter: base x 2^failures, capped, in [half, full] of that. */
  private backoffMs(): number {
    const base = this.options.baseDelayMs ?? 1000;
    const cap = this.options.maxDelayMs ?? 60_000;
    const full = Math.min(cap, base * 2 ** Math.min(this.failures - 1, 20));
    return Math.round(full / 2 + (Math.random() * full) / 2);
  }

  private async attempt(
    batch: Batch,
  ): Promise<{ ok: true; status: number } | { ok: false; retryable: boolean; error: CliError; retryAfterMs?: number }> {
    try {
      const response = await this.client.send('/v1/samples', {
        method: 'POST',
        body: JSON.stringify(batch.items),
        contentType: 'application/json',
        headers: { 'Idempotency-Key': batch.key },
      });
      if (response.status >= 200 && response.status < 300) return { ok: true, status: response.status };
      const retryAfter = Number(response.headers.get('retry-after'));
      return {
        ok: false,
        retryable: RETRYABLE(response.status),
        error: serviceError(response),
        ...(Number.isFinite(retryAfter) && retryAfter > 0 ? { retryAfterMs: retryAfter * 1000 } : {}),
      };
    } catch (caught) {
      if (caught instanceof CliError) return { ok: false, retryable: true, error: caught };
      throw caught;
    }
  }
}

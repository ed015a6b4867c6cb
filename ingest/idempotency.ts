/**
 * Idempotent retries (SPEC §3): the first request with an Idempotency-Key claims it; a
 * retry with the same key and body gets the first answer and appends nothing.
 */
import { createHash } from 'node:crypto';
import { AppError, BadRequestError } from '../shared/errors';
import { globalKeys } from '../shared/keys';
import type { RedisClient } from '../shared/redis';

interface Stored {
  state: 'pending' | 'done';
  fingerprint: string;
  response?: unknown;
}

const KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;

export class IdempotencyStore {
  private readonly keyOf: (hash: string) => string;

  constructor(
    private readonly redis: RedisClient,
    prefix: string,
    private readonly ttlSeconds: number,
  ) {
    this.keyOf = globalKeys(prefix).idempotency;
  }

  /** Runs `produce` once per key; returns its answer and whether it is a replay. */
  async run(key: string | undefined, fingerprint: string, produce: () => Promise<unknown>): Promise<{ response: unknown; replayed: boolean }> {
    if (key === undefined) return { response: await produce(), replayed: false };
    if (!KEY_PATTERN.test(key)) {
      throw new BadRequestError('INVALID_IDEMPOTENCY_KEY', 'Idempotency-Key must be 1-255 visible ASCII characters.', [{ field: 'Idempotency-Key', message: 'invalid' }]);
    }
    const redisKey = this.keyOf(createHash('sha256').update(key).digest('hex'));
    const claim: Stored = { state: 'pending', fingerprint };
    if ((await this.redis.set(redisKey, JSON.stringify(claim), 'EX', this.ttlSeconds, 'NX')) === null) {
      const stored = JSON.parse((await this.redis.get(redisKey)) ?? 'null') as Stored | null;
      if (stored === null) return this.run(key, fingerprint, produce); // expired meanwhile
      if (stored.fingerprint !== fingerprint) {
        throw new AppError(422, 'IDEMPOTENCY_KEY_REUSED', 'This Idempotency-Key was used for a different request; use a new key for new samples.');
      }
      if (stored.state === 'pending') {
        throw new AppError(409, 'IDEMPOTENCY_KEY_IN_PROGRESS', 'A request with this Idempotency-Key is still in progress; retry shortly.', undefined, {
          headers: { 'Retry-After': '1' },
        });
      }
      return { response: stored.response, replayed: true };
    }
    try {
      const response = await produce();
      const done: Stored = { state: 'done', fingerprint, response };
      await this.redis.set(redisKey, JSON.stringify(done), 'EX', this.ttlSeconds);
      return { response, replayed: false };
    } catch (error) {
      // Nothing was appended: the key is free for the retry.
      await this.redis.del(redisKey).catch(() => undefined);
      throw error;
    }
  }
}

export function fingerprintOf(path: string, body: unknown): string {
  return createHash('sha256').update(path).update('\n').update(JSON.stringify(body)).digest('hex');
}

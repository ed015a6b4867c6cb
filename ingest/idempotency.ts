/** Idempotency-Key handling (README, API): which record a key maps to, and a request's fingerprint. */
import { createHash } from 'node:crypto';
import { BadRequestError } from '../shared/errors';

export interface IdempotencyClaim {
  /** The key's hash, which names its records (any visible characters are safe). */
  keyHash: string;
  /** What the request asked for; the same key with another fingerprint is refused. */
  fingerprint: string;
  /** How long the record is kept, when not IDEMPOTENCY_TTL_SECONDS. */
  ttlSeconds?: number;
}

const KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;

export function idempotencyClaim(key: string, path: string, body: unknown): IdempotencyClaim {
  if (!KEY_PATTERN.test(key)) {
    throw new BadRequestError('INVALID_IDEMPOTENCY_KEY', 'Idempotency-Key must be 1-255 visible ASCII characters.', [
      { field: 'Idempotency-Key', message: 'invalid' },
    ]);
  }
  return {
    keyHash: createHash('sha256').update(key).digest('hex'),
    fingerprint: createHash('sha256').update(path).update('\n').update(JSON.stringify(body)).digest('hex'),
  };
}

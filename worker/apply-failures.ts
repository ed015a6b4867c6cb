/**
 * Sorts a failed decode or apply into what the worker does next:
 * - `transient`: Redis or the network cannot take the call now (connection lost, timeout,
 *   out of memory, loading, busy script, failover). Retried with back-off, never dead-lettered.
 * - `deterministic`: the entry itself, or what its keys hold, fails every time (undecodable
 *   entry, wrong key type, a stored bucket or summary of another form, a script error).
 *   Isolated, then dead-lettered at once.
 * - `unexpected`: any other JavaScript error. Isolated, retried in place a few times, then
 *   dead-lettered.
 */
import { EntryDecodeError } from '../shared/store/entry-codec';
import { classifyRedisError, isTransientRedisError } from '../shared/store/redis-errors';
import { WrongKeyTypeError } from '../shared/store/wrong-key-type';
import { BucketDecodeError } from '../shared/store/bucket-codec';
import { NodeSummaryDecodeError } from '../shared/store/summary-codec';

export type FailureKind = 'transient' | 'deterministic' | 'unexpected';

export function classifyFailure(error: unknown): FailureKind {
  // Also a stored bucket or summary of another form (the apply without the script reads them here).
  if (
    error instanceof EntryDecodeError ||
    error instanceof WrongKeyTypeError ||
    error instanceof BucketDecodeError ||
    error instanceof NodeSummaryDecodeError
  )
    return 'deterministic';
  if (isTransientRedisError(error)) return 'transient';
  // Any other error reply fails the same way every time.
  return classifyRedisError(error) === 'not-redis' ? 'unexpected' : 'deterministic';
}

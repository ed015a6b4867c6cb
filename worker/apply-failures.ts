/**
 * Sorts a failed decode or apply into what the worker does next:
 * - `transient`: Redis or the network cannot take the call now (connection lost, timeout,
 *   out of memory, loading, busy script, failover). Retried with back-off, never dead-lettered.
 * - `deterministic`: the entry itself, or what its keys hold, fails every time (undecodable
 *   entry, wrong key type, a script error). Isolated, then dead-lettered at once.
 * - `unexpected`: any other JavaScript error. Isolated, retried in place a few times, then
 *   dead-lettered.
 */
import { EntryDecodeError } from '../shared/store/entry-codec';
import { WrongKeyTypeError } from '../shared/store/batch-apply';

export type FailureKind = 'transient' | 'deterministic' | 'unexpected';

/** Redis error prefixes that say "not now" rather than "never". */
const TRANSIENT_REPLY = /^(OOM|LOADING|BUSY|READONLY|MASTERDOWN|TRYAGAIN|CLUSTERDOWN|NOREPLICAS|MISCONF|UNBLOCKED)\b/;
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH']);
const CLIENT_MESSAGES = /timed out|Connection is closed|max retries per request|enableOfflineQueue|Stream isn't writeable|Socket closed/i;

export function classifyFailure(error: unknown): FailureKind {
  if (error instanceof EntryDecodeError || error instanceof WrongKeyTypeError) return 'deterministic';
  const e = error as { name?: string; message?: string; code?: string } | null;
  const message = e?.message ?? '';
  if (e?.name === 'ReplyError') return TRANSIENT_REPLY.test(message) ? 'transient' : 'deterministic';
  if (e?.name === 'MaxRetriesPerRequestError' || (e?.code && NETWORK_CODES.has(e.code)) || CLIENT_MESSAGES.test(message)) {
    return 'transient';
  }
  return 'unexpected';
}

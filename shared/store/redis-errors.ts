/**
 * The one place a Redis failure is recognised. ioredis reports three kinds of trouble:
 * - `ReplyError`: Redis answered with an error; its first word is the error code
 *   (OOM, NOGROUP, BUSYGROUP, WRONGTYPE, LOADING, READONLY, ...).
 * - `MaxRetriesPerRequestError` (an `AbortError`): the connection kept failing while the
 *   command waited; other `AbortError`s: a pipeline or transaction cut by a closed connection.
 * - plain `Error`s of the client: connection closed, command timed out, socket errors
 *   (with a Node `code`), and the refusal to queue a command while disconnected.
 * - a Cluster client's own: no node reachable (`ClusterAllFailedError`), redirections
 *   exhausted, not ready while its offline queue is off.
 * Callers ask for a class, never match message text themselves.
 */
import { ReplyError } from 'ioredis';
import { MaxRetriesPerRequestError } from 'ioredis/built/errors';

export type RedisErrorClass =
  /** Redis is over maxmemory (policy noeviction) and refused a write; the command did not run. */
  | 'out-of-memory'
  /** Redis or the network cannot take the call now; whether a write ran is unknown. */
  | 'unavailable'
  /** The client refused the command while disconnected: it never reached Redis. */
  | 'not-sent'
  /** The consumer group (or its stream) does not exist. */
  | 'no-group'
  /** XGROUP CREATE of a group that exists. */
  | 'group-exists'
  /** A command met a key holding another type. */
  | 'wrong-type'
  /** XINFO and friends on a key that does not exist. */
  | 'no-such-key'
  /** Any other error reply (a script error, a bad argument): the same call fails again. */
  | 'rejected'
  /** Not a Redis failure at all. */
  | 'not-redis';

/**
 * Error codes that say "not now" rather than "never" (the command did not run, or failed over).
 * ASK and MOVED reach the caller only inside a cluster pipeline whose other writes ran: the
 * redirected command did not run, its slot is moving.
 */
const UNAVAILABLE_CODES = new Set([
  'ASK',
  'MOVED',
  'LOADING',
  'BUSY',
  'READONLY',
  'MASTERDOWN',
  'TRYAGAIN',
  'CLUSTERDOWN',
  'NOREPLICAS',
  'MISCONF',
  'UNBLOCKED',
  // A redirection that reached the caller (ioredis follows them; a pipeline may not): the command did not run.
  'MOVED',
  'ASK',
]);
const ABORTED = new Set(['MaxRetriesPerRequestError', 'AbortError', 'InterruptError', 'ClusterAllFailedError']);
const SCRIPT_OUT_OF_MEMORY = /\bOOM command not allowed\b/;
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH']);
/** ioredis's own messages (ioredis/built/Redis.js, Command.js, utils CONNECTION_CLOSED_ERROR_MSG). */
const OFFLINE_QUEUE_REFUSAL = /enableOfflineQueue options is false/;
const COMMAND_TIMEOUT = /^Command timed out/;
const CLIENT_CONNECTION_MESSAGES = /^Connection is closed\./;
/** ioredis's Cluster (cluster/index.js): no node reachable, redirections exhausted, disconnected. */
const CLUSTER_CONNECTION_MESSAGES =
  /^(None of startup nodes is available|Too many Cluster redirections|Cluster is (disconnected|disconnecting|ended))/;

/** Our own: a call given up before anything reached Redis (its connection could not be made). */
export class NotSentError extends Error {
  constructor(cause: unknown) {
    super(`not sent: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = 'NotSentError';
  }
}

/** ioredis declares ReplyError as `any`; it is redis-errors' Error subclass for error replies. */
const ReplyErrorClass = ReplyError as new (message: string) => Error;

/** The code an error reply starts with ("OOM command not allowed ..." -> "OOM"). */
function replyCode(error: Error): string {
  return /^[A-Z]+/.exec(error.message)?.[0] ?? '';
}

function isReplyError(error: unknown): error is Error {
  // instanceof, with the name as fallback for a second copy of redis-errors in node_modules.
  return error instanceof ReplyErrorClass || (error instanceof Error && error.name === 'ReplyError');
}

export function classifyRedisError(error: unknown): RedisErrorClass {
  if (isReplyError(error)) {
    const code = replyCode(error);
    // Redis before 7 wraps a script's refused write: "ERR Error running script ...: OOM command not allowed".
    if (code === 'OOM' || (code === 'ERR' && SCRIPT_OUT_OF_MEMORY.test(error.message))) return 'out-of-memory';
    if (code === 'NOGROUP') return 'no-group';
    if (code === 'BUSYGROUP') return 'group-exists';
    if (code === 'WRONGTYPE') return 'wrong-type';
    if (UNAVAILABLE_CODES.has(code)) return 'unavailable';
    if (code === 'ERR' && /^ERR no such key\b/.test(error.message)) return 'no-such-key';
    return 'rejected';
  }
  if (!(error instanceof Error)) return 'not-redis';
  if (error instanceof NotSentError) return 'not-sent';
  // MaxRetriesPerRequestError is one of redis-errors' AbortErrors: the connection failed while the command waited.
  if (error instanceof MaxRetriesPerRequestError || ABORTED.has(error.name)) return 'unavailable';
  if (OFFLINE_QUEUE_REFUSAL.test(error.message)) return 'not-sent';
  const code = (error as NodeJS.ErrnoException).code;
  if ((code !== undefined && NETWORK_CODES.has(code)) || CLIENT_CONNECTION_MESSAGES.test(error.message)) return 'unavailable';
  if (CLUSTER_CONNECTION_MESSAGES.test(error.message)) return 'unavailable';
  if (isCommandTimeout(error)) return 'unavailable';
  return 'not-redis';
}

/** Redis refused a command because used memory is over maxmemory (the command did not run). */
export function isOutOfMemory(error: unknown): boolean {
  return classifyRedisError(error) === 'out-of-memory';
}

/** The command never reached Redis (refused while disconnected): nothing was written. */
export function wasNeverSent(error: unknown): boolean {
  return classifyRedisError(error) === 'not-sent';
}

/** Redis cannot serve now (down, unreachable, loading, failing over, timed out): answer 503, retry later. */
export function isRedisUnavailable(error: unknown): boolean {
  const kind = classifyRedisError(error);
  return kind === 'unavailable' || kind === 'not-sent';
}

/** The failure goes away by itself: retry with back-off rather than give up on the call. */
export function isTransientRedisError(error: unknown): boolean {
  const kind = classifyRedisError(error);
  return kind === 'unavailable' || kind === 'not-sent' || kind === 'out-of-memory';
}

/**
 * The client gave up waiting for a reply (`commandTimeout`): one of the unavailable. Several in
 * a row on a connection that stays open say it is half-open (the timeout watchdog reconnects).
 */
export function isCommandTimeout(error: unknown): boolean {
  return error instanceof Error && COMMAND_TIMEOUT.test(error.message) && !isReplyError(error);
}

export function isNoGroup(error: unknown): boolean {
  return classifyRedisError(error) === 'no-group';
}

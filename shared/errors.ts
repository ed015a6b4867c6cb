/** Errors as data: a stable code, an HTTP status, and whether the message may be shown. */

export interface ErrorDetail {
  /** Index of the offending item in a batch. */
  index?: number;
  /** The field, query parameter or path parameter at fault. */
  field?: string;
  message: string;
}

export class AppError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: ErrorDetail[],
    options?: { cause?: unknown; expose?: boolean; headers?: Record<string, string>; detailsTotal?: number },
  ) {
    super(message, { cause: options?.cause });
    this.detailsTotal = options?.detailsTotal;
    this.name = new.target.name;
    this.expose = options?.expose ?? (status < 500 || status === 503 || status === 504);
    this.headers = options?.headers ?? {};
  }
  readonly expose: boolean;
  /** How many problems there were when `details` lists only the first ones. */
  readonly detailsTotal: number | undefined;
  readonly headers: Record<string, string>;
}

export class BadRequestError extends AppError {
  constructor(code: string, message: string, details?: ErrorDetail[]) {
    super(400, code, message, details);
  }
}

export class ValidationError extends AppError {
  constructor(message: string, details: ErrorDetail[], detailsTotal?: number) {
    super(422, 'VALIDATION_FAILED', message, details, { detailsTotal });
  }
}

export class NotFoundError extends AppError {
  constructor(code: string, message: string) {
    super(404, code, message);
  }
}

export class MethodNotAllowedError extends AppError {
  constructor(method: string, allowed: string[]) {
    super(405, 'METHOD_NOT_ALLOWED', `${method} is not allowed here; use ${allowed.join(', ')}.`, undefined, {
      headers: { Allow: allowed.join(', ') },
    });
  }
}

export class PayloadTooLargeError extends AppError {
  constructor(message: string) {
    super(413, 'PAYLOAD_TOO_LARGE', message);
  }
}

export class RequestTimeoutError extends AppError {
  constructor(waitedMs: number) {
    super(408, 'REQUEST_TIMEOUT', `The request body did not arrive within ${waitedMs} ms.`, undefined, {
      headers: { Connection: 'close' },
    });
  }
}

export class UnsupportedMediaTypeError extends AppError {
  constructor(message: string) {
    super(415, 'UNSUPPORTED_MEDIA_TYPE', message);
  }
}

export class DependencyUnavailableError extends AppError {
  constructor(message: string, cause?: unknown, retryAfterSeconds = 1) {
    super(503, 'SERVICE_UNAVAILABLE', message, undefined, {
      cause,
      headers: { 'Retry-After': String(retryAfterSeconds) },
    });
  }
}

export class TooManyWaitersError extends AppError {
  constructor(limit: number) {
    super(503, 'TOO_MANY_WAITERS', `${limit} queries with ?after= are already waiting; retry shortly.`, undefined, {
      headers: { 'Retry-After': '1' },
    });
  }
}

export class ConsistencyTimeoutError extends AppError {
  constructor(waitedMs: number) {
    super(504, 'CONSISTENCY_TIMEOUT', `The samples of the "after" token were not all aggregated within ${waitedMs} ms; retry the query.`);
  }
}

export class OutcomeUnknownError extends AppError {
  constructor(cause?: unknown) {
    super(
      503,
      'OUTCOME_UNKNOWN',
      'Redis stopped answering while the samples were being stored: they may or may not be stored. Retry with the same Idempotency-Key so they count once.',
      undefined,
      { cause, headers: { 'Retry-After': '1' } },
    );
  }
}

/** A Redis Cluster stored the request's samples in some partitions and failed in others. */
export class PartlyStoredError extends AppError {
  constructor(cause?: unknown) {
    super(
      503,
      'PARTLY_STORED',
      'Redis stored the samples of some partitions and failed to store the others. Retry with the same Idempotency-Key: the retry stores only the rest, so they count once.',
      undefined,
      { cause, headers: { 'Retry-After': '1' } },
    );
  }
}

/** REDIS_WAIT_REPLICAS: fewer replicas than asked for confirmed a write in time (or its confirmation was lost). */
export class ReplicationTimeoutError extends AppError {
  constructor(replicas: number, timeoutMs: number, cause?: unknown) {
    super(
      503,
      'REPLICATION_TIMEOUT',
      `Fewer than ${replicas} Redis replica(s) confirmed the write within ${timeoutMs} ms: the samples may be stored on the master only, where a failover could lose them. Retrying with the same Idempotency-Key is safe: it appends only what is missing and counts once (without a key, a retry may count them twice).`,
      undefined,
      { cause, headers: { 'Retry-After': '1' } },
    );
  }
}

/** Redis is at maxmemory and refuses writes (noeviction): nothing was stored. */
export class RedisOutOfMemoryError extends AppError {
  constructor(cause?: unknown, retryAfterSeconds = 5) {
    super(
      503,
      'REDIS_OUT_OF_MEMORY',
      'Redis is out of memory (maxmemory reached) and refuses writes; nothing was stored. Retry later; operators: see docs/RUNBOOK.md.',
      undefined,
      { cause, headers: { 'Retry-After': String(retryAfterSeconds) } },
    );
  }
}

/** `nodeagg partitions set` is running: writes wait until it has moved the data. */
export class PartitionChangeInProgressError extends AppError {
  constructor(retryAfterSeconds = 5) {
    super(
      503,
      'PARTITION_CHANGE_IN_PROGRESS',
      'The partition count is being changed; ingest is paused and nothing was stored. Retry later.',
      undefined,
      { headers: { 'Retry-After': String(retryAfterSeconds) } },
    );
  }
}

/** The data now has another partition count than this instance routes with: it must be restarted. */
export class PartitionCountChangedError extends AppError {
  constructor(configured: number, recorded: number) {
    super(
      503,
      'PARTITION_COUNT_CHANGED',
      `This instance routes with STREAM_PARTITIONS=${configured}, but the data now has ${recorded} partitions; nothing was stored. Retry later (another instance will answer); operators: restart it with STREAM_PARTITIONS=${recorded}.`,
      undefined,
      { headers: { 'Retry-After': '5' } },
    );
  }
}

export class UnauthenticatedError extends AppError {
  constructor(message: string, challenge = 'Bearer') {
    super(401, 'UNAUTHENTICATED', message, undefined, { headers: { 'WWW-Authenticate': challenge } });
  }
}

export class ForbiddenError extends AppError {
  constructor(message: string, scope: string) {
    super(403, 'FORBIDDEN', message, undefined, { headers: { 'WWW-Authenticate': `Bearer error="insufficient_scope", scope="${scope}"` } });
  }
}

export class RateLimitedError extends AppError {
  constructor(message: string, retryAfterSeconds: number) {
    super(429, 'RATE_LIMITED', message, undefined, { headers: { 'Retry-After': String(Math.max(1, Math.ceil(retryAfterSeconds))) } });
  }
}

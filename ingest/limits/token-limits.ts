/**
 * Per-token limits, in process (per ingest replica): requests/s, samples/s and new node names
 * per minute, as fixed windows of rate-limiter-flexible's memory limiter. No Redis round trip.
 */
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import type { Config } from '../../shared/config';
import { PayloadTooLargeError, RateLimitedError } from '../../shared/errors';

export type LimitName = 'requests' | 'samples' | 'new_nodes' | 'total_nodes';

/** Told of every refusal: the token's name, which limit, and the seconds until it resets. */
export type LimitedListener = (token: string, limit: LimitName, retryAfterSeconds: number) => void;

const UNITS: Record<'requests' | 'samples' | 'new_nodes', string> = {
  requests: 'requests per second',
  samples: 'samples per second',
  new_nodes: 'new node names per minute',
};

const admitted = (): void => undefined;

export class TokenLimits {
  private readonly limiters: Record<'requests' | 'samples' | 'new_nodes', RateLimiterMemory>;

  constructor(
    config: Config,
    private readonly onLimited: LimitedListener,
  ) {
    // Each limiter keeps its own store, so no prefix: keyed by the token's name itself, not by
    // a prefixed copy that is built and hashed again on every request.
    this.limiters = {
      requests: new RateLimiterMemory({ points: config.rateLimitRequestsPerSecond, duration: 1, keyPrefix: '' }),
      samples: new RateLimiterMemory({ points: config.rateLimitSamplesPerSecond, duration: 1, keyPrefix: '' }),
      new_nodes: new RateLimiterMemory({ points: config.newNodesPerMinute, duration: 60, keyPrefix: '' }),
    };
  }

  takeRequest(token: string): Promise<void> {
    return this.take('requests', token, 1);
  }

  takeSamples(token: string, count: number): Promise<void> {
    return this.take('samples', token, count);
  }

  takeNewNodes(token: string, count: number): Promise<void> {
    return this.take('new_nodes', token, count);
  }

  /**
   * Consumes `count` points of the token's window; over the limit rejects with 429 and
   * Retry-After. Not an async function: the limiter's promise with one `then`, no frame of its
   * own on every request.
   */
  private take(limit: 'requests' | 'samples' | 'new_nodes', token: string, count: number): Promise<void> {
    const limiter = this.limiters[limit];
    if (count > limiter.points) {
      // Could never pass, however long the client waited: say so instead of a 429 loop.
      return Promise.reject(
        new PayloadTooLargeError(
          `This request has ${count} ${limit === 'samples' ? 'samples' : 'new node names'}; the token "${token}" may send at most ${limiter.points} ${UNITS[limit]}. Split it.`,
        ),
      );
    }
    return limiter.consume(token, count).then(admitted, (caught: unknown) => {
      if (!(caught instanceof RateLimiterRes)) throw caught;
      const retryAfter = Math.max(1, Math.ceil(caught.msBeforeNext / 1000));
      this.onLimited(token, limit, retryAfter);
      throw new RateLimitedError(
        `The token "${token}" is over its limit of ${limiter.points} ${UNITS[limit]} on this ingest replica; retry after ${retryAfter} s.`,
        retryAfter,
      );
    });
  }
}

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

export class TokenLimits {
  private readonly limiters: Record<'requests' | 'samples' | 'new_nodes', RateLimiterMemory>;

  constructor(
    config: Config,
    private readonly onLimited: LimitedListener,
  ) {
    this.limiters = {
      requests: new RateLimiterMemory({ points: config.rateLimitRequestsPerSecond, duration: 1 }),
      samples: new RateLimiterMemory({ points: config.rateLimitSamplesPerSecond, duration: 1 }),
      new_nodes: new RateLimiterMemory({ points: config.newNodesPerMinute, duration: 60 }),
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

  /** Consumes `count` points of the token's window; over the limit throws 429 with Retry-After. */
  private async take(limit: 'requests' | 'samples' | 'new_nodes', token: string, count: number): Promise<void> {
    const limiter = this.limiters[limit];
    if (count > limiter.points) {
      // Could never pass, however long the client waited: say so instead of a 429 loop.
      throw new PayloadTooLargeError(
        `This request has ${count} ${limit === 'samples' ? 'samples' : 'new node names'}; the token "${token}" may send at most ${limiter.points} ${UNITS[limit]}. Split it.`,
      );
    }
    try {
      await limiter.consume(token, count);
    } catch (caught) {
      if (!(caught instanceof RateLimiterRes)) throw caught;
      const retryAfter = Math.max(1, Math.ceil(caught.msBeforeNext / 1000));
      this.onLimited(token, limit, retryAfter);
      throw new RateLimitedError(
        `The token "${token}" is over its limit of ${limiter.points} ${UNITS[limit]} on this ingest replica; retry after ${retryAfter} s.`,
        retryAfter,
      );
    }
  }
}

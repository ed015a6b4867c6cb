/**
 * Everything a protected route checks before its handler: the token and its scope (401/403),
 * then the token's request rate (429). Refusals are counted and logged by token name only.
 */
import type { Context } from 'koa';
import { authorize } from '../../shared/auth/authorize';
import type { Scope } from '../../shared/auth/scopes';
import type { TokenEntry } from '../../shared/auth/token-file';
import { TokenStore } from '../../shared/auth/token-store';
import type { Config } from '../../shared/config';
import type { Logger } from '../../shared/logger';
import { ThrottledWarnings } from '../../shared/throttled-warnings';
import { TokenLimits, type LimitName } from '../limits/token-limits';
import type { IngestMetrics } from '../metrics';
import { VerifiedConnections } from './verified-connections';

/** The metric label of requests when the service runs open (no tokens configured). */
export const OPEN_CLIENT = 'anonymous';

export class AccessControl {
  readonly limits: TokenLimits;
  /** One line per reason, or per token and limit, per minute; the rest are counted (suppressed) and in the metrics. */
  private readonly log: ThrottledWarnings;
  private readonly connections: VerifiedConnections;

  constructor(
    readonly tokens: TokenStore,
    config: Config,
    private readonly metrics: IngestMetrics,
    logger: Logger,
  ) {
    this.log = new ThrottledWarnings(logger, 60_000);
    this.connections = new VerifiedConnections(tokens);
    this.limits = new TokenLimits(config, (token, limit, retryAfter) => this.limited(token, limit, retryAfter));
  }

  /** Admits the request or throws its 401/403/429; the admitted token is left in ctx.state.token. */
  async admit(ctx: Context, scope: Scope): Promise<void> {
    const header = ctx.req.headers.authorization || undefined;
    const proven = this.connections.tokenOf(ctx.req.socket, header);
    if (proven !== undefined && TokenStore.allows(proven, scope)) {
      ctx.state.token = proven;
      return this.limits.takeRequest(proven.name);
    }
    const access = authorize(this.tokens, header, scope);
    if (!access.ok) {
      this.metrics.authRejected.inc({ reason: access.reason });
      this.log.info(
        `auth:${access.reason}`,
        { reason: access.reason, path: ctx.path, ip: ctx.ip, ...(access.reason === 'scope' ? { scope } : {}) },
        'request rejected: authentication (further rejections for this reason in the next minute are only counted in nodeagg_auth_rejected_total)',
      );
      throw access.error;
    }
    ctx.state.token = access.token;
    if (access.token === undefined) return;
    this.connections.remember(ctx.req.socket, header!, access.token); // a token was found, so a header was sent
    await this.limits.takeRequest(access.token.name);
  }

  /** The name a request's limits and metrics go by. */
  static clientOf(ctx: Context): string {
    return (ctx.state.token as TokenEntry | undefined)?.name ?? OPEN_CLIENT;
  }

  limited(token: string, limit: LimitName, retryAfterSeconds: number): void {
    this.metrics.rateLimited.inc({ token, limit });
    this.log.warn(
      `limit:${token}:${limit}`,
      { token, limit, retryAfterSeconds },
      `rate limited: token "${token}" is over its ${limit} limit (429; further refusals in the next minute are only counted in nodeagg_rate_limited_total)`,
    );
  }
}

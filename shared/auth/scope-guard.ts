/**
 * Route middleware for services without the ingest error middleware (the worker's health server):
 * lets a request through only with a token holding `scope` (or when the service runs open), else
 * answers 401/403 itself in the JSON error format.
 */
import type { Middleware } from 'koa';
import { authorize, type RejectReason } from './authorize';
import type { Scope } from './scopes';
import type { TokenStore } from './token-store';

export function scopeGuard(
  store: TokenStore,
  scope: Scope,
  onReject: (reason: RejectReason, path: string) => void = () => undefined,
): Middleware {
  return async (ctx, next) => {
    const access = authorize(store, ctx.get('Authorization') || undefined, scope);
    if (access.ok) return next();
    onReject(access.reason, ctx.path);
    ctx.status = access.error.status;
    ctx.set(access.error.headers);
    ctx.body = { error: { code: access.error.code, message: access.error.message } };
  };
}

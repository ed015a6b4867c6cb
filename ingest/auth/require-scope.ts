/** `requireScope('read')`: the route middleware a protected route other than a write declares (see docs/SECURITY.md); writes go through write-route.ts. */
import type { Context, Middleware } from 'koa';
import type { Scope } from '../../shared/auth/scopes';
import type { AccessControl } from './access-control';

declare module 'koa' {
  interface DefaultContext {
    /** Set once on the app's context (createApp), so the check costs no lookup per request. */
    accessControl?: AccessControl;
  }
}

function accessControlOf(ctx: Context): AccessControl {
  const access = ctx.accessControl;
  if (!access) throw new Error('requireScope() used on an app without access control (see createApp)');
  return access;
}

/** Admits the request for `scope` or throws its 401/403/429 (what requireScope() checks). */
export function admitScope(ctx: Context, scope: Scope): Promise<void> {
  return accessControlOf(ctx).admit(ctx, scope);
}

export function requireScope(scope: Scope): Middleware {
  return async (ctx, next) => {
    await admitScope(ctx, scope);
    await next();
  };
}

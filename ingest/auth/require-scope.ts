/** `requireScope('write')`: the route middleware every protected ingest route declares (see docs/SECURITY.md). */
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

export function requireScope(scope: Scope): Middleware {
  return async (ctx, next) => {
    await accessControlOf(ctx).admit(ctx, scope);
    await next();
  };
}

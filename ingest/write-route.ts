/**
 * A write route: its handler behind the checks every write passes first, in one frame. The
 * token's `write` scope and request rate, then the body's type and declared length from the
 * headers, before a byte of the body is read. As two route middleware (requireScope() and
 * acceptsBody()) they cost @koa/router a step each per request, a bound `next` and a promise:
 * about 4 % of a single POST's instructions (docs/BENCHMARKS.md).
 */
import type { Context, Middleware } from 'koa';
import { admitScope } from './auth/require-scope';
import { bodyCheck, type BodyRules } from './body-types';

export function writeRoute(body: BodyRules, handler: (ctx: Context) => Promise<void>): Middleware {
  const checkBody = bodyCheck(body);
  return async (ctx) => {
    await admitScope(ctx, 'write');
    checkBody(ctx);
    await handler(ctx);
  };
}

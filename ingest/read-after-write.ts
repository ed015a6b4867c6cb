/** Middleware for ?after=TOKEN: answer only once the token's samples are aggregated. */
import type { Middleware } from 'koa';
import { decodeToken } from './consistency-token';
import type { IngestDeps } from './deps';
import { stringParam } from './query-params';

export function readAfterWrite(deps: IngestDeps): Middleware {
  return async (ctx, next) => {
    const token = stringParam(ctx, 'after');
    if (token !== undefined) await deps.waiter.waitFor(decodeToken(token, deps.partitions.length));
    await next();
  };
}

/** Admin routes of the dead-letter queue: list, replay into the stream, purge. */
import Router from '@koa/router';
import { BadRequestError } from '../../shared/errors';
import type { IngestDeps } from '../deps';
import { requireScope } from '../auth/require-scope';
import { numberParam, stringParam } from '../query-params';
import { readJsonBody } from '../request-body';

function idsFrom(body: unknown): string[] | undefined {
  if (body === undefined || body === null) return undefined;
  const ids = (body as { ids?: unknown }).ids;
  if (ids === undefined) return undefined;
  if (!Array.isArray(ids) || !ids.every((id) => typeof id === 'string' && id.length > 0 && id.length < 200)) {
    throw new BadRequestError('INVALID_BODY', 'ids must be an array of dead-letter ids (strings), or left out for all.', [
      { field: 'ids', message: 'not an array of strings' },
    ]);
  }
  return ids;
}

export function deadLettersRouter(deps: IngestDeps): Router {
  const router = new Router({ prefix: '/v1/admin/dead-letters' });

  router.get('/', requireScope('read'), async (ctx) => {
    const limit = Math.floor(numberParam(ctx, 'limit', 100, 0, 10_000));
    const [count, items] = await Promise.all([deps.deadLetters.count(), deps.deadLetters.list(limit)]);
    ctx.body = { count, items };
  });

  router.post('/replay', requireScope('admin'), async (ctx) => {
    const hasBody = Number(ctx.get('Content-Length') || '0') > 0 || ctx.get('Transfer-Encoding') !== '';
    const ids = idsFrom(hasBody ? await readJsonBody(ctx, 1_000_000) : undefined);
    ctx.body = { replayed: await deps.deadLetters.replay(ids) };
  });

  router.delete('/', requireScope('admin'), async (ctx) => {
    const id = stringParam(ctx, 'id');
    ctx.body = { purged: await deps.deadLetters.purge(id === undefined ? undefined : [id]) };
  });
  return router;
}

/** Admin routes of the dead-letter queue: list, replay into the stream, purge. */
import Router from '@koa/router';
import { BadRequestError } from '../../shared/errors';
import { withDeadLetterDeadline } from '../dead-letter-deadline';
import type { IngestDeps } from '../deps';
import { requireScope } from '../auth/require-scope';
import { numberParam, stringParam } from '../query-params';
import { acceptsBody, JSON_TYPE } from '../body-types';
import { readJsonBody } from '../request-body';

const MAX_REPLAY_IDS = 1000;

function idsFrom(body: unknown): string[] | undefined {
  if (body === undefined || body === null) return undefined;
  const ids = (body as { ids?: unknown }).ids;
  if (ids === undefined) return undefined;
  if (
    !Array.isArray(ids) ||
    ids.length > MAX_REPLAY_IDS ||
    !ids.every((id) => typeof id === 'string' && id.length > 0 && id.length < 200)
  ) {
    throw new BadRequestError(
      'INVALID_BODY',
      `ids must be an array of at most ${MAX_REPLAY_IDS} dead-letter ids (strings), or left out for all.`,
      [{ field: 'ids', message: 'not an array of strings' }],
    );
  }
  return ids;
}

export function deadLettersRouter(deps: IngestDeps): Router {
  const router = new Router({ prefix: '/v1/admin/dead-letters' });

  router.get('/', requireScope('read'), async (ctx) => {
    const limit = Math.floor(numberParam(ctx, 'limit', 100, 0, 10_000));
    const [count, items] = await withDeadLetterDeadline(deps, () => Promise.all([deps.deadLetters.count(), deps.deadLetters.list(limit)]));
    ctx.body = { count, items };
  });

  // The body is optional but its Content-Type is not: a cross-site form post (no
  // preflight) cannot send application/json, so it cannot trigger a replay.
  const limits = { maxBytes: 1_000_000, timeoutMs: deps.config.bodyTimeoutMs };
  router.post('/replay', requireScope('admin'), acceptsBody({ types: [JSON_TYPE], maxBytes: limits.maxBytes }), async (ctx) => {
    const ids = idsFrom(await readJsonBody(ctx, limits, { optional: true }));
    ctx.body = await withDeadLetterDeadline(deps, () => deps.deadLetters.replay(ids));
  });

  router.delete('/', requireScope('admin'), async (ctx) => {
    const id = stringParam(ctx, 'id');
    ctx.body = { purged: await withDeadLetterDeadline(deps, () => deps.deadLetters.purge(id === undefined ? undefined : [id])) };
  });
  return router;
}

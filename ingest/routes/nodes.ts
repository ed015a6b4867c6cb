/** The per-node views: the fleet list (paged), one node's summary, its time series. */
import Router from '@koa/router';
import { BadRequestError, NotFoundError, ValidationError } from '../../shared/errors';
import { nameDetails } from '../../shared/samples';
import type { IngestDeps } from '../deps';
import { requireScope } from '../auth/require-scope';
import { readAfterWrite } from '../read-after-write';
import { urlSegment } from '../url-segment';
import { decodeCursor, encodeCursor } from '../node-cursor';
import { integerParam, numberParam, stringParam } from '../query-params';

const DEFAULT_PAGE = 100;
const MAX_PAGE = 1000;
const NODE_PREFIX = /^[A-Za-z0-9._:-]{1,253}$/;

export function nodesRouter(deps: IngestDeps): Router {
  const router = new Router();
  // Per route, not router.use(): a router's use() middleware runs for every route of the app it is mounted in.
  // The scope check comes first, so an anonymous ?after= never waits.
  const reads = [requireScope('read'), readAfterWrite(deps)];

  function nodeName(raw: string): string {
    const invalid = nameDetails('nodename', raw);
    if (invalid.length > 0) throw new ValidationError('The node name is not valid.', invalid);
    return raw;
  }
  const unknown = (name: string) => new NotFoundError('NODE_NOT_FOUND', `No sample of node "${name}" is retained.`);

  router.get('/v1/nodes', ...reads, async (ctx) => {
    const limit = integerParam(ctx, 'limit', DEFAULT_PAGE, 1, MAX_PAGE);
    const prefix = stringParam(ctx, 'prefix');
    if (prefix !== undefined && !NODE_PREFIX.test(prefix)) {
      throw new BadRequestError('INVALID_QUERY', 'prefix must be the start of a node name.', [
        { field: 'prefix', message: 'at most 253 letters, digits, . _ : -' },
      ]);
    }
    const cursor = stringParam(ctx, 'cursor');
    const page = await deps.nodes.page({ limit, prefix, after: cursor === undefined ? undefined : decodeCursor(cursor) });
    const last = page.nodes[page.nodes.length - 1];
    const next =
      page.more && last !== undefined
        ? `/v1/nodes?${new URLSearchParams({ limit: String(limit), cursor: encodeCursor(last.name), ...(prefix === undefined ? {} : { prefix }) })}`
        : null;
    ctx.body = {
      count: page.nodes.length,
      total: page.total,
      nodes: page.nodes.map((n) => ({ ...n, url: `/v1/nodes/${urlSegment(n.name)}/` })),
      next,
    };
  });

  router.get('/v1/nodes/:nodename', ...reads, async (ctx) => {
    const name = nodeName(ctx.params.nodename!);
    const detail = await deps.nodes.detail(name);
    if (detail === null) throw unknown(name);
    ctx.body = detail;
  });

  router.get('/v1/nodes/:nodename/series', ...reads, async (ctx) => {
    const name = nodeName(ctx.params.nodename!);
    const windowSeconds = numberParam(ctx, 'window', 900, 0, 3600);
    const step = numberParam(ctx, 'step', Math.max(1, Math.ceil(windowSeconds / 90)), 0, windowSeconds);
    const series = await deps.nodes.series(name, windowSeconds, step);
    if (series === null) throw unknown(name);
    ctx.body = { name, window: windowSeconds, step: Math.max(1, Math.round(step)), points: series.points };
  });
  return router;
}

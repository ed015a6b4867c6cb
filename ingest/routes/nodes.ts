/** The per-node views of SPEC §3: the fleet list, one node's summary, its time series. */
import Router from '@koa/router';
import { NotFoundError, ValidationError } from '../../shared/errors';
import { nameDetails } from '../../shared/samples';
import type { IngestDeps } from '../deps';
import { requireScope } from '../auth/require-scope';
import { readAfterWrite } from '../read-after-write';
import { numberParam } from '../query-params';

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
    const nodes = await deps.nodes.list();
    ctx.body = { count: nodes.length, nodes: nodes.map((n) => ({ ...n, url: `/v1/nodes/${encodeURIComponent(n.name)}/` })) };
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

/** The original service's query routes (README, API), answered from the aggregates. */
import Router from '@koa/router';
import type { Context } from 'koa';
import { NotFoundError, ValidationError } from '../../shared/errors';
import { nameDetails } from '../../shared/samples';
import { FINE_WINDOW_LIMIT_SECONDS, MAX_QUERY_WINDOW_SECONDS } from '../../shared/window';
import type { IngestDeps } from '../deps';
import { requireScope } from '../auth/require-scope';
import { numberParam } from '../query-params';
import { readAfterWrite } from '../read-after-write';
import { urlSegment } from '../url-segment';

const DEFAULT_WINDOW_SECONDS = 60;

export function analyticsRouter(deps: IngestDeps): Router {
  const router = new Router();
  const windowOf = (ctx: Context) => numberParam(ctx, 'timeslice', DEFAULT_WINDOW_SECONDS, 0, MAX_QUERY_WINDOW_SECONDS);

  // Per route, not router.use(): a router's use() middleware runs for every route of the app it is mounted in.
  // The scope check comes first, so an anonymous ?after= never waits.
  const reads = [requireScope('read'), readAfterWrite(deps)];

  router.get('/v1/analytics/nodes/average', ...reads, async (ctx) => {
    const windowSeconds = windowOf(ctx);
    const summary = await deps.reader.fleetAverage(windowSeconds);
    ctx.body =
      summary === null || summary.samples === 0
        ? { timeslice: 0, cpu_used: null, mem_used: null }
        : { timeslice: summary.timeslice, cpu_used: summary.cpu, mem_used: summary.mem };
  });

  router.get('/v1/analytics/nodes/series', ...reads, async (ctx) => {
    const windowSeconds = numberParam(ctx, 'window', 3600, 0, FINE_WINDOW_LIMIT_SECONDS);
    const step = numberParam(ctx, 'step', Math.max(1, Math.ceil(windowSeconds / 60)), 0, windowSeconds);
    const series = await deps.reader.fleetSeries(windowSeconds, step);
    ctx.body = { window: windowSeconds, step: series?.step ?? Math.max(1, Math.round(step)), points: series?.points ?? [] };
  });

  router.get('/v1/analytics/processes', ...reads, async (ctx) => {
    const windowSeconds = windowOf(ctx);
    const { timeslice, names } = await deps.reader.processList(windowSeconds);
    ctx.body = {
      timeslice,
      processes: names.map((name) => ({ name, url: `/v1/analytics/processes/${urlSegment(name)}/` })),
    };
  });

  router.get('/v1/analytics/processes/:processname', ...reads, async (ctx) => {
    const windowSeconds = windowOf(ctx);
    const name = ctx.params.processname!;
    const invalid = nameDetails('processname', name);
    if (invalid.length > 0) throw new ValidationError('The process name is not valid.', invalid);
    const summary = await deps.reader.processWindow(name, windowSeconds);
    if (summary === null) {
      throw new NotFoundError('PROCESS_NOT_FOUND', `No sample of process "${name}" in the last ${windowSeconds} s of its history.`);
    }
    ctx.body = {
      timeslice: summary.timeslice,
      cpu_used: summary.cpu,
      mem_used: summary.mem,
      num_instances: summary.instances,
    };
  });
  return router;
}

/** Builds the ingest Koa app: middleware order in one place, no listen. */
import Koa from 'koa';
import Router from '@koa/router';
import { AppError, DependencyUnavailableError, RedisOutOfMemoryError } from '../shared/errors';
import { isOutOfMemory, isRedisUnavailable } from '../shared/store/redis-errors';
import { healthRouter } from '../shared/health-routes';
import { checkReadiness } from '../shared/readiness';
import { TimeoutWatchdog } from '../shared/timeout-watchdog';
import type { IngestDeps } from './deps';
import { AccessControl } from './auth/access-control';
import { requireScope } from './auth/require-scope';
import { errorMiddleware } from './error-middleware';
import { analyticsRouter } from './routes/analytics';
import { collectdRouter } from './routes/collectd';
import { deadLettersRouter } from './routes/dead-letters';
import { metricsRouter } from './routes/metrics';
import { nodesRouter } from './routes/nodes';
import { otlpRouter } from './routes/otlp';
import { pipelineRouter } from './routes/pipeline';
import { samplesRouter } from './routes/samples';
import { uiRouter } from './routes/ui';

/** Redis failures surface as 503 with Retry-After, never as 500; timeouts feed the watchdog. */
function redisFailuresAre503(watchdog: TimeoutWatchdog): Koa.Middleware {
  return async (_ctx, next) => {
    try {
      await next();
      watchdog.observe(undefined);
    } catch (error) {
      watchdog.observe((error as { cause?: unknown }).cause ?? error);
      if (error instanceof AppError) throw error;
      if (isOutOfMemory(error)) throw new RedisOutOfMemoryError(error);
      if (!isRedisUnavailable(error)) throw error;
      throw new DependencyUnavailableError('Redis is unavailable; retry later.', error);
    }
  };
}

export interface RouteInfo {
  path: string;
  methods: string[];
}

const registered = new WeakMap<Koa, RouteInfo[]>();

/** Every route the app serves, read from its routers (so tests cover routes added later). */
export function routesOf(app: Koa): readonly RouteInfo[] {
  return registered.get(app) ?? [];
}

export function createApp(deps: IngestDeps): Koa {
  const app = new Koa();
  app.proxy = true;
  app.silent = true;
  app.context.accessControl = new AccessControl(deps.tokens, deps.config, deps.metrics, deps.logger);

  const health = healthRouter({
    alive: () => true,
    readiness: () => checkReadiness(deps.redis, deps.partitions, deps.config.consumerGroup, deps.isDraining()),
    registry: deps.metrics.registry,
    metricsGuard: requireScope('metrics'),
  });

  // The routes agents post samples to get routers of their own, tried first, the single-sample
  // ones before the batch ones: a router tests every one of its routes against each request
  // it sees, so a single POST is tested against those 3 routes, not all of them
  // (docs/BENCHMARKS.md). A batch is tested against 3 more, a read against 6 more.
  const singleWrites = metricsRouter(deps);
  const batchWrites = new Router();
  for (const router of [samplesRouter(deps), otlpRouter(deps), collectdRouter(deps)]) batchWrites.use(router.routes());
  const api = new Router();
  for (const router of [
    analyticsRouter(deps),
    nodesRouter(deps),
    pipelineRouter(deps),
    deadLettersRouter(deps),
    health,
    uiRouter(deps.logger),
  ]) {
    api.use(router.routes());
  }

  // The middleware below that only check or set something are plain functions returning
  // next(): no async frame and no extra promise per request (koa-compose turns a throw into a rejection).
  app.use((ctx, next) => {
    // What a browser may load or show (pages, reads, their errors) is what its Content-Type
    // says, never guessed. A POST's answer goes to the client that sent it and no page loads
    // it, so it goes without: each header costs Node about 3 % of a single POST's instructions
    // (docs/BENCHMARKS.md). The name in lower case is the one Node keys it by: no conversion.
    if (ctx.request.method !== 'POST') ctx.res.setHeader('x-content-type-options', 'nosniff');
    return next();
  });
  // Metrics outermost, so they record the status the error middleware answered.
  app.use(deps.metrics.middleware);
  app.use(errorMiddleware(deps.logger));
  const watchdog = new TimeoutWatchdog([deps.redis, deps.appendRedis], () => deps.logger.warn('Redis keeps timing out; reconnecting'));
  app.use(redisFailuresAre503(watchdog));
  app.use((ctx, next) => {
    if (deps.isDraining() && ctx.request.method === 'POST') {
      ctx.set('Connection', 'close');
      throw new DependencyUnavailableError('The service is shutting down; retry on another instance.');
    }
    return next();
  });
  registered.set(
    app,
    [...singleWrites.stack, ...batchWrites.stack, ...api.stack]
      .filter((layer) => layer.methods.length > 0)
      .map((layer) => ({ path: String(layer.path), methods: [...layer.methods] })),
  );
  app.use(singleWrites.routes());
  app.use(batchWrites.routes());
  app.use(api.routes());
  // Sets 405 with an Allow header (the error middleware renders the body). Every router adds
  // its path matches to ctx.matched, so this one answers for the write routes too.
  app.use(api.allowedMethods());
  return app;
}

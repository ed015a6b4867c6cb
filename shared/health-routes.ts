/** /livez, /readyz, /health and /metrics: the same probes on ingest and worker. */
import Router from '@koa/router';
import type { Middleware } from 'koa';
import type { Registry } from 'prom-client';

export interface ReadinessReport {
  ready: boolean;
  checks: Record<string, boolean | string>;
}

export interface HealthSource {
  /** The process and its loops are alive. */
  alive(): boolean;
  /** Redis reachable, streams and group present, not draining. */
  readiness(): Promise<ReadinessReport>;
  registry: Registry;
  /** Guards /metrics (the `metrics` scope); the probes stay open. */
  metricsGuard: Middleware;
}

export function healthRouter(source: HealthSource): Router {
  const router = new Router();
  router.get('/livez', (ctx) => {
    const alive = source.alive();
    ctx.status = alive ? 200 : 503;
    ctx.body = { alive };
  });
  router.get('/readyz', async (ctx) => {
    const report = await source.readiness();
    ctx.status = report.ready ? 200 : 503;
    ctx.body = report;
  });
  // The original service's probe: alive while the service can serve.
  router.get('/health', async (ctx) => {
    const report = await source.readiness();
    const alive = source.alive() && report.checks.redis === true;
    ctx.status = alive ? 200 : 503;
    ctx.body = { alive };
  });
  router.get('/metrics', source.metricsGuard, async (ctx) => {
    ctx.type = source.registry.contentType;
    ctx.body = await source.registry.metrics();
  });
  return router;
}

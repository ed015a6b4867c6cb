/**
 * The baseline apps: a bare Koa JSON handler that reads and parses the body and answers 202,
 * doing no I/O; and the same handler behind what a single-sample POST passes through in
 * ingest before its handler (ingest/app.ts): the app's five middleware as pass-throughs of
 * the same kind (plain or async), @koa/router with the six write routes in their routers (the
 * three single-sample routes first, then the batch routes' nested routers), and the
 * middleware a route has before its handler (none but OTLP's error format:
 * a write's checks run in its handler's frame, ingest/write-route.ts). What the routed one
 * costs beyond the bare one is Koa's and @koa/router's dispatch, none of ingest's own work.
 */
import Koa, { type Context, type Next } from 'koa';
import Router from '@koa/router';
import getRawBody from 'raw-body';

async function handler(ctx: Context): Promise<void> {
  if (ctx.method === 'POST') {
    const body = JSON.parse(await getRawBody(ctx.req, { limit: '5mb', encoding: 'utf8' })) as unknown;
    ctx.status = 202;
    ctx.body = { id: '0-0', token: '0_0-0', ok: typeof body === 'object' };
  } else {
    ctx.body = { timeslice: 60, cpu_used: 42.5, mem_used: 61 };
  }
}

const plain = (_ctx: Context, next: Next) => next();
async function wrapping(_ctx: Context, next: Next): Promise<void> {
  try {
    await next();
  } finally {
    // ingest records metrics or turns errors into answers here
  }
}

export function routedApp(): Koa {
  const app = new Koa();
  app.proxy = true;
  app.silent = true;
  // ingest: nosniff header, metrics, errors, Redis failures, draining
  app.use((ctx, next) => {
    if (ctx.method !== 'POST') ctx.res.setHeader('x-content-type-options', 'nosniff');
    return next();
  });
  app.use(wrapping);
  app.use(wrapping);
  app.use(wrapping);
  app.use(plain);
  const metrics = new Router();
  metrics.post('/v1/metrics/node/:nodename', handler);
  metrics.post('/v1/metrics/nodes/:nodename/process/:processname', handler);
  metrics.post('/v1/metrics/node/:nodename/process/:processname', handler);
  const samples = new Router().post('/v1/samples', handler);
  const otlp = new Router().post('/otlp/v1/metrics', wrapping, handler); // its error format
  const collectd = new Router().post('/collectd', handler);
  const batchWrites = new Router();
  for (const router of [samples, otlp, collectd]) batchWrites.use(router.routes());
  app.use(metrics.routes());
  app.use(batchWrites.routes());
  app.use(handler);
  return app;
}

export function bareApp(): Koa {
  const app = new Koa();
  app.use(handler);
  return app;
}

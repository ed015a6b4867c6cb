/**
 * The benchmark's routed baseline (bench/baseline-apps.ts) stands for what a write request
 * passes through in ingest before its handler; its figure means something only while it has
 * ingest's shape. This compares the two apps: the middleware before the routers (how many,
 * plain or async), and the write routers, in order, with their routes and each route's
 * middleware.
 */
import type Router from '@koa/router';
import type Koa from 'koa';
import { routedApp } from '../../bench/baseline-apps';
import { startIngest, type RunningIngest } from '../../ingest/server';
import { deletePrefix, quietLogger, testConfig, testRedis } from '../support/test-config';

type Middleware = Koa.Middleware & { router?: Router };

const kind = (fn: unknown) => ((fn as { constructor: { name: string } }).constructor.name === 'AsyncFunction' ? 'async' : 'plain');

/** The app's middleware before its first router, by kind. */
function beforeRouters(app: Koa): string[] {
  const middleware = app.middleware as Middleware[];
  return middleware
    .slice(
      0,
      middleware.findIndex((m) => m.router !== undefined),
    )
    .map(kind);
}

/** A router's routes: method, path, and the kinds of the middleware before each handler. */
function routesOf(router: Router): string[] {
  return router.stack
    .filter((layer) => layer.methods.length > 0)
    .map(
      (layer) =>
        `${layer.methods.filter((m) => m !== 'HEAD').join(',')} ${String(layer.path)}: ${layer.stack.slice(0, -1).map(kind).join(' ')}`,
    )
    .sort();
}

/** The app's write routers (every route a POST), in the order the app tries them, by their routes. */
function writeRouters(app: Koa): string[][] {
  return (app.middleware as Middleware[])
    .flatMap((m) => (m.router ? [m.router] : []))
    .filter((router) => router.stack.every((layer) => layer.methods.length === 0 || layer.methods.includes('POST')))
    .map(routesOf);
}

describe("the benchmark's routed baseline has ingest's shape", () => {
  const config = testConfig();
  let ingest: RunningIngest;

  beforeAll(async () => {
    ingest = await startIngest(config, quietLogger);
  });
  afterAll(async () => {
    await ingest.close();
    const redis = testRedis(config);
    await deletePrefix(redis, config.keyPrefix);
    await redis.quit();
  });

  test('the same middleware before the routers, one for one', () => {
    expect(beforeRouters(ingest.app)).toHaveLength(5);
    expect(beforeRouters(routedApp())).toEqual(beforeRouters(ingest.app));
  });

  test('the same write routers in the same order, with the same routes, each with the same middleware before its handler', () => {
    const routers = writeRouters(ingest.app);
    // The single-sample routes first, then the batch routes (ingest/app.ts).
    expect(routers).toHaveLength(2);
    expect(routers[0]).toContain('POST /v1/metrics/node/:nodename: ');
    expect(routers[1]).toContain('POST /otlp/v1/metrics: async');
    expect(writeRouters(routedApp())).toEqual(routers);
  });
});

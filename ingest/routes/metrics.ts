/** The original service's single-sample POST routes (README, API). */
import Router from '@koa/router';
import type { Context } from 'koa';
import { parseNodeBody, parseProcessBody } from '../../shared/samples';
import type { IngestDeps } from '../deps';
import { acceptSamples } from '../accept-samples';
import { JsonText } from '../answer';
import { JSON_TYPE } from '../body-types';
import { readJsonBody } from '../request-body';
import { writeRoute } from '../write-route';
import type { Sample } from '../../shared/samples';
import type { WriteResult } from '../sample-writer';

/** The answer to a single-sample POST: its stream entry id and consistency token (`{"id":…,"token":…}`). */
const singleAnswer = (result: WriteResult) => new JsonText(`{"id":"${result.ids[0]!}","token":"${result.token}"}`);

export function metricsRouter(deps: IngestDeps): Router {
  const router = new Router();
  const context = () => ({ receivedAt: Date.now(), maxFutureSkewMs: deps.config.maxFutureSkewMs });

  const limits = { maxBytes: deps.config.maxBodyBytes, timeoutMs: deps.config.bodyTimeoutMs };
  const jsonBody = { types: [JSON_TYPE], maxBytes: limits.maxBytes };

  const accept = (ctx: Context, body: unknown, sample: Sample) => acceptSamples(ctx, deps, body, [sample], singleAnswer);

  router.post(
    '/v1/metrics/node/:nodename',
    writeRoute(jsonBody, async (ctx) => {
      const body = await readJsonBody(ctx, limits);
      await accept(ctx, body, parseNodeBody(ctx.params.nodename!, body, context()));
    }),
  );

  for (const path of ['/v1/metrics/nodes/:nodename/process/:processname', '/v1/metrics/node/:nodename/process/:processname']) {
    router.post(
      path,
      writeRoute(jsonBody, async (ctx) => {
        const body = await readJsonBody(ctx, limits);
        await accept(ctx, body, parseProcessBody(ctx.params.nodename!, ctx.params.processname!, body, context()));
      }),
    );
  }
  return router;
}

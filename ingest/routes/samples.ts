/** POST /v1/samples: a batch as a JSON array or NDJSON, maybe gzip; all or nothing (README, API). */
import Router from '@koa/router';
import { PayloadTooLargeError, ValidationError } from '../../shared/errors';
import { parseBatch } from '../../shared/samples';
import type { IngestDeps } from '../deps';
import { acceptSamples } from '../accept-samples';
import { JSON_TYPE, NDJSON_TYPE } from '../body-types';
import { readItems } from '../request-body';
import { writeRoute } from '../write-route';

export function samplesRouter(deps: IngestDeps): Router {
  const router = new Router();
  const { maxBodyBytes, bodyTimeoutMs, maxBatchItems } = deps.config;
  const limits = { maxBytes: maxBodyBytes, timeoutMs: bodyTimeoutMs, maxItems: maxBatchItems };
  const batchBody = { types: [JSON_TYPE, NDJSON_TYPE], maxBytes: maxBodyBytes };
  router.post(
    '/v1/samples',
    writeRoute(batchBody, async (ctx) => {
      const items = await readItems(ctx, limits);
      if (items.length > deps.config.maxBatchItems) {
        throw new PayloadTooLargeError(
          `A batch holds at most ${deps.config.maxBatchItems} samples; this one has ${items.length}. Split it.`,
        );
      }
      if (items.length === 0) throw new ValidationError('The batch is empty; send at least one sample.', [{ message: 'no samples' }]);
      const samples = parseBatch(items, { receivedAt: Date.now(), maxFutureSkewMs: deps.config.maxFutureSkewMs });
      await acceptSamples(ctx, deps, items, samples, (result) => ({ accepted: result.accepted, ids: result.ids, token: result.token }));
    }),
  );
  return router;
}

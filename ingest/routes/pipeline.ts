/** GET /v1/pipeline: the pipeline view (SPEC §3). */
import Router from '@koa/router';
import { readPipelineStatus } from '../../shared/pipeline-status';
import type { IngestDeps } from '../deps';

export function pipelineRouter(deps: IngestDeps): Router {
  const router = new Router();
  router.get('/v1/pipeline', async (ctx) => {
    ctx.body = await readPipelineStatus(deps.redis, deps.partitions, deps.config.consumerGroup);
  });
  return router;
}

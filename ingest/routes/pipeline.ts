/** GET /v1/pipeline: the pipeline view (SPEC §3). */
import Router from '@koa/router';
import { readPipelineStatus } from '../../shared/pipeline-status';
import type { IngestDeps } from '../deps';
import { requireScope } from '../auth/require-scope';
import { readAfterWrite } from '../read-after-write';

export function pipelineRouter(deps: IngestDeps): Router {
  const router = new Router();
  router.get('/v1/pipeline', requireScope('read'), readAfterWrite(deps), async (ctx) => {
    const [status, deadLetters] = await Promise.all([
      readPipelineStatus(deps.redis, deps.partitions, deps.config.consumerGroup),
      deps.deadLetters.count(),
    ]);
    ctx.body = { ...status, dead_letters: deadLetters };
  });
  return router;
}

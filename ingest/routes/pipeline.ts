/** GET /v1/pipeline: the pipeline view (SPEC §3). */
import Router from '@koa/router';
import { readPipelineStatus } from '../../shared/pipeline-status';
import { withDeadLetterDeadline } from '../dead-letter-deadline';
import type { IngestDeps } from '../deps';

export function pipelineRouter(deps: IngestDeps): Router {
  const router = new Router();
  router.get('/v1/pipeline', async (ctx) => {
    const [status, deadLetters] = await Promise.all([
      readPipelineStatus(deps.redis, deps.partitions, deps.config.consumerGroup),
      withDeadLetterDeadline(deps, () => deps.deadLetters.count()),
    ]);
    ctx.body = { ...status, dead_letters: deadLetters };
  });
  return router;
}

/** GET /v1/pipeline: the pipeline view (README, API). */
import Router from '@koa/router';
import { readRecordedFigures } from '../../shared/store/recorded-figures';
import { readPipelineStatus } from '../../shared/pipeline-status';
import { withDeadLetterDeadline } from '../dead-letter-deadline';
import type { IngestDeps } from '../deps';
import { requireScope } from '../auth/require-scope';
import { readAfterWrite } from '../read-after-write';

export function pipelineRouter(deps: IngestDeps): Router {
  const router = new Router();
  router.get('/v1/pipeline', requireScope('read'), readAfterWrite(deps), async (ctx) => {
    const [status, deadLetters, recorded] = await Promise.all([
      readPipelineStatus(deps.redis, deps.partitions, deps.config.consumerGroup),
      withDeadLetterDeadline(deps, () => deps.deadLetters.count()),
      readRecordedFigures(deps.redis, deps.config.keyPrefix),
    ]);
    // Stalled needs history (the same oldest entry over time): the maintenance job's last
    // figures tell it; null when the workers have recorded none.
    const partitions = status.partitions.map((p) => ({
      ...p,
      stalled: recorded?.partitions.find((q) => q.partition === p.partition)?.stalled ?? null,
    }));
    // What a 202 promises about replicas (REDIS_WAIT_REPLICAS, README "Configuration").
    const replication = { wait_replicas: deps.config.redisWaitReplicas, wait_timeout_ms: deps.config.redisWaitTimeoutMs };
    ctx.body = { ...status, partitions, dead_letters: deadLetters, replication };
  });
  return router;
}

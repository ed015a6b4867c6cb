/** The accepting half of every POST: idempotency, append (with backpressure), 202. */
import type { Context } from 'koa';
import type { Sample } from '../shared/samples';
import type { IngestDeps } from './deps';
import { idempotencyClaim } from './idempotency';
import type { WriteResult } from './sample-writer';

export async function acceptSamples(
  ctx: Context,
  deps: IngestDeps,
  body: unknown,
  samples: readonly Sample[],
  answer: (result: WriteResult) => unknown,
): Promise<void> {
  const claim = idempotencyClaim(deps.config.keyPrefix, ctx.get('Idempotency-Key') || undefined, ctx.path.replace(/\/$/, ''), body);
  const result = await deps.writer.write(samples, claim);
  if (result.replayed) ctx.set('Idempotent-Replayed', 'true');
  else deps.metrics.samplesAccepted.inc(samples.length);
  ctx.status = 202;
  ctx.body = answer(result);
}

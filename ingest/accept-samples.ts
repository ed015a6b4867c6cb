/** The accepting half of every POST: limits, idempotency, append (with backpressure), 202. */
import type { Context } from 'koa';
import type { Sample } from '../shared/samples';
import type { IngestDeps } from './deps';
import { idempotencyClaim } from './idempotency';
import { admitSamples } from './limits/sample-admission';
import type { WriteResult } from './sample-writer';

export async function acceptSamples(
  ctx: Context,
  deps: IngestDeps,
  body: unknown,
  samples: readonly Sample[],
  answer: (result: WriteResult) => unknown,
): Promise<void> {
  const admission = await admitSamples(ctx, ctx.accessControl, deps.cardinality, samples);
  const claim = idempotencyClaim(deps.config.keyPrefix, ctx.get('Idempotency-Key') || undefined, ctx.path.replace(/\/$/, ''), body);
  const result = await deps.writer.write(samples, claim);
  admission.stored();
  if (result.replayed) ctx.set('Idempotent-Replayed', 'true');
  else deps.metrics.samplesAccepted.inc(samples.length);
  ctx.status = 202;
  ctx.body = answer(result);
}

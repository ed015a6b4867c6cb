/** The accepting half of every POST: idempotency, append (with backpressure), 202. */
import type { Context } from 'koa';
import type { Sample } from '../shared/samples';
import type { IngestDeps } from './deps';
import { fingerprintOf } from './idempotency';
import type { WriteResult } from './sample-writer';

export async function acceptSamples(
  ctx: Context,
  deps: IngestDeps,
  body: unknown,
  samples: readonly Sample[],
  answer: (result: WriteResult) => unknown,
): Promise<void> {
  const key = ctx.get('Idempotency-Key') || undefined;
  const { response, replayed } = await deps.idempotency.run(key, fingerprintOf(ctx.path.replace(/\/$/, ''), body), async () => {
    const result = await deps.writer.write(samples);
    deps.metrics.samplesAccepted.inc(samples.length);
    return answer(result);
  });
  if (replayed) ctx.set('Idempotent-Replayed', 'true');
  ctx.status = 202;
  ctx.body = response;
}

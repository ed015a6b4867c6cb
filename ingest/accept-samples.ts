/** The accepting half of every POST: limits, idempotency, append (with backpressure), the answer. */
import type { Context } from 'koa';
import type { Sample } from '../shared/samples';
import { setAnswer } from './answer';
import type { IngestDeps } from './deps';
import { idempotencyClaim } from './idempotency';
import { admitSamples } from './limits/sample-admission';
import type { WriteResult } from './sample-writer';

export interface AcceptOptions {
  /** 202 unless the route's protocol says otherwise (OTLP answers 200). */
  status?: number;
  /**
   * Used when the request has no Idempotency-Key header (agents that retry the same bytes but can
   * only send static headers), kept `ttlSeconds`; 0 = none.
   */
  derivedIdempotency?: { key: string; ttlSeconds: number };
}

export async function acceptSamples(
  ctx: Context,
  deps: IngestDeps,
  body: unknown,
  samples: readonly Sample[],
  answer: (result: WriteResult) => unknown,
  options: AcceptOptions = {},
): Promise<void> {
  const admission = await admitSamples(ctx, ctx.accessControl, deps.cardinality, samples);
  // Read directly, not through ctx.get(), which lower-cases the name per request (Node's already are).
  const header = ctx.req.headers['idempotency-key'];
  const given = typeof header === 'string' && header !== '' ? header : undefined;
  const derived = given === undefined && options.derivedIdempotency?.ttlSeconds ? options.derivedIdempotency : undefined;
  const key = given ?? derived?.key;
  const claim = key === undefined ? undefined : idempotencyClaim(key, ctx.path.replace(/\/$/, ''), body);
  if (claim && derived) claim.ttlSeconds = derived.ttlSeconds;
  const result = await deps.writer.write(samples, claim);
  admission.stored();
  if (result.replayed) ctx.response.set('Idempotent-Replayed', 'true');
  else deps.metrics.samplesAccepted.inc(samples.length);
  setAnswer(ctx, options.status ?? 202, answer(result));
}

/**
 * POST /otlp/v1/metrics: OTLP/HTTP metrics (protobuf or JSON, maybe gzip), answered as the
 * OTLP/HTTP specification says: 200 with partial_success for unusable points, a Status body
 * on errors, Retry-After on 429/503. Mapping in docs/AGENTS.md.
 */
import { createHash } from 'node:crypto';
import Router from '@koa/router';
import type { Context, Next } from 'koa';
import { BadRequestError, PayloadTooLargeError } from '../../shared/errors';
import { acceptSamples } from '../accept-samples';
import { setAnswer } from '../answer';
import { summarizeRejections, validateCandidates } from '../agent-candidates';
import type { IngestDeps } from '../deps';
import { otlpErrorBody } from '../otlp/otlp-errors';
import { OtlpMapper } from '../otlp/otlp-mapping';
import { OTLP_MEDIA_TYPES, encodeExportResponse, visitResourceMetrics, type OtlpFormat, type OtlpMediaType } from '../otlp/otlp-protocol';
import { bodyTypeOf } from '../body-types';
import { writeRoute } from '../write-route';
import { readBytes } from '../request-body';

/** Media types this route accepts; anything else is 415. */
export const OTLP_ACCEPTED_TYPES = Object.keys(OTLP_MEDIA_TYPES) as OtlpMediaType[];

/** Header an exporter may send to give its gauge interval in seconds (else OTLP_GAUGE_INTERVAL_SECONDS). */
export const INTERVAL_HEADER = 'Nodeagg-Interval';
const WHOLE_SECONDS = /^\d{1,5}$/;

/** The OTLP format the Content-Type names, if any (read before acceptsBody() checks it, to answer in it). */
function formatOf(ctx: Context): OtlpFormat | undefined {
  const type = ctx.get('Content-Type').split(';')[0]!.trim().toLowerCase();
  return type in OTLP_MEDIA_TYPES ? OTLP_MEDIA_TYPES[type as OtlpMediaType] : undefined;
}

/** Errors (also those of auth and Redis, raised later) answer in the request's OTLP format. */
async function otlpErrors(ctx: Context, next: Next): Promise<void> {
  const format = formatOf(ctx);
  if (format) ctx.state.errorBody = otlpErrorBody(format);
  await next();
}

function gaugeInterval(ctx: Context, fallback: number): number {
  const raw = ctx.get(INTERVAL_HEADER);
  if (raw === '') return fallback;
  const seconds = WHOLE_SECONDS.test(raw.trim()) ? Number(raw.trim()) : NaN;
  if (!(seconds >= 1 && seconds <= 86400)) {
    throw new BadRequestError('INVALID_INTERVAL', `${INTERVAL_HEADER} must be whole seconds from 1 to 86400.`, [
      { field: INTERVAL_HEADER, message: 'invalid' },
    ]);
  }
  return seconds;
}

export function otlpRouter(deps: IngestDeps): Router {
  const router = new Router();
  const { maxBodyBytes, bodyTimeoutMs } = deps.config;
  const limits = { maxBytes: maxBodyBytes, timeoutMs: bodyTimeoutMs };
  const otlpBody = { types: OTLP_ACCEPTED_TYPES, maxBytes: maxBodyBytes };
  router.post(
    '/otlp/v1/metrics',
    otlpErrors,
    writeRoute(otlpBody, async (ctx) => {
      const format = OTLP_MEDIA_TYPES[bodyTypeOf(ctx) as OtlpMediaType];
      const intervalSeconds = gaugeInterval(ctx, deps.config.otlpGaugeIntervalSeconds);
      const body = await readBytes(ctx, limits);
      // Mapped as each resource is decoded: an export's decoded messages never live all at once.
      const mapper = new OtlpMapper({ gaugeIntervalSeconds: intervalSeconds });
      visitResourceMetrics(body, format, deps.config.maxAgentPoints, (rm) => mapper.add(rm));
      const mapping = mapper.finish();
      const { samples, rejections } = validateCandidates(mapping.candidates, {
        receivedAt: Date.now(),
        maxFutureSkewMs: deps.config.maxFutureSkewMs,
      });
      if (samples.length > deps.config.maxBatchItems) {
        throw new PayloadTooLargeError(
          `An export makes at most ${deps.config.maxBatchItems} samples; this one makes ${samples.length}. Send smaller batches.`,
        );
      }
      const allRejections = [...mapping.rejections, ...rejections];
      const rejected = allRejections.reduce((sum, r) => sum + r.units, 0);
      const partial =
        rejected > 0 ? { rejectedDataPoints: rejected, errorMessage: summarizeRejections(allRejections, 'data point') } : undefined;
      if (format === 'protobuf') ctx.type = 'application/x-protobuf';
      if (samples.length === 0) {
        setAnswer(ctx, 200, encodeExportResponse(format, partial));
        return;
      }
      // Exporters retry with the same bytes and send only static headers: the body's digest is the key.
      const digest = createHash('sha256').update(body).digest('hex');
      await acceptSamples(ctx, deps, samples, samples, () => encodeExportResponse(format, partial), {
        status: 200,
        derivedIdempotency: { key: `otlp:${digest}`, ttlSeconds: deps.config.agentIdempotencyTtlSeconds },
      });
    }),
  );
  return router;
}

/** POST /collectd: collectd's write_http plugin (Format "JSON", StoreRates true). Mapping in docs/AGENTS.md. */
import { createHash } from 'node:crypto';
import Router from '@koa/router';
import { BadRequestError, PayloadTooLargeError } from '../../shared/errors';
import { acceptSamples } from '../accept-samples';
import { setAnswer } from '../answer';
import { summarizeRejections, validateCandidates } from '../agent-candidates';
import { mapValueLists, parseValueLists } from '../collectd/collectd-mapping';
import type { IngestDeps } from '../deps';
import { JSON_TYPE } from '../body-types';
import { writeRoute } from '../write-route';
import { readBytes } from '../request-body';

/** Media types this route accepts; anything else is 415. */
export const COLLECTD_ACCEPTED_TYPES = [JSON_TYPE];

export function collectdRouter(deps: IngestDeps): Router {
  const router = new Router();
  const { maxBodyBytes, bodyTimeoutMs } = deps.config;
  const limits = { maxBytes: maxBodyBytes, timeoutMs: bodyTimeoutMs };
  const collectdBody = { types: COLLECTD_ACCEPTED_TYPES, maxBytes: maxBodyBytes };
  router.post(
    '/collectd',
    writeRoute(collectdBody, async (ctx) => {
      const body = await readBytes(ctx, limits);
      let parsed: unknown;
      try {
        parsed = JSON.parse(body.toString('utf8'));
      } catch (error) {
        throw new BadRequestError('INVALID_JSON', `The body is not valid JSON: ${(error as Error).message.slice(0, 200)}`);
      }
      if (Array.isArray(parsed) && parsed.length > deps.config.maxAgentPoints) {
        throw new PayloadTooLargeError(
          `A POST holds at most ${deps.config.maxAgentPoints} value lists; this one has ${parsed.length}. Lower BufferSize.`,
        );
      }
      const mapping = mapValueLists(parseValueLists(parsed));
      const { samples, rejections } = validateCandidates(mapping.candidates, {
        receivedAt: Date.now(),
        maxFutureSkewMs: deps.config.maxFutureSkewMs,
      });
      if (samples.length > deps.config.maxBatchItems) {
        throw new PayloadTooLargeError(
          `A POST makes at most ${deps.config.maxBatchItems} samples; this one makes ${samples.length}. Lower BufferSize.`,
        );
      }
      const counts = {
        ignored: mapping.ignored,
        skipped: mapping.skipped,
        rejected: rejections.reduce((sum, r) => sum + r.units, 0),
        ...(rejections.length > 0 ? { reason: summarizeRejections(rejections, 'value list') } : {}),
      };
      if (samples.length === 0) {
        setAnswer(ctx, 202, { accepted: 0, ...counts, ids: [], token: null });
        return;
      }
      // write_http cannot send a per-request key: the body's digest makes a re-sent POST count once.
      const digest = createHash('sha256').update(body).digest('hex');
      await acceptSamples(
        ctx,
        deps,
        samples,
        samples,
        (result) => ({ accepted: result.accepted, ...counts, ids: result.ids, token: result.token }),
        {
          derivedIdempotency: { key: `collectd:${digest}`, ttlSeconds: deps.config.agentIdempotencyTtlSeconds },
        },
      );
    }),
  );
  return router;
}

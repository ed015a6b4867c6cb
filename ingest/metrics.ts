/** Prometheus metrics of the ingest service. */
import type { Context, Middleware } from 'koa';
import { Counter, Gauge, Registry } from 'prom-client';
import { RequestDurations } from './request-durations';
import { collectProcessMetrics } from '../shared/process-metrics';

export interface IngestMetrics {
  registry: Registry;
  samplesAccepted: Counter;
  /** Requests refused 401/403, by reason: missing, unknown, scope. */
  authRejected: Counter<'reason'>;
  /** Requests refused 429, by token name and limit: requests, samples, new_nodes, total_nodes. */
  rateLimited: Counter<'token' | 'limit'>;
  /** Writes answered 503 REPLICATION_TIMEOUT (REDIS_WAIT_REPLICAS not confirmed in time). */
  replicationTimeouts: Counter;
  middleware: Middleware;
}

/** waitReplicas: the REDIS_WAIT_REPLICAS setting, shown as a gauge. */
export function createIngestMetrics(waitReplicas = 0): IngestMetrics {
  const registry = new Registry();
  collectProcessMetrics(registry, 'nodeagg_ingest_');
  const requests = new RequestDurations({
    name: 'nodeagg_http_request_duration_seconds',
    help: 'HTTP request duration by route and status.',
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5],
    registers: [registry],
  });
  const samplesAccepted = new Counter({
    name: 'nodeagg_samples_accepted_total',
    help: 'Samples appended to the stream (answered 202).',
    registers: [registry],
  });
  const authRejected = new Counter({
    name: 'nodeagg_auth_rejected_total',
    help: 'Requests refused for authentication (401: missing or unknown token) or authorization (403: scope missing).',
    labelNames: ['reason'],
    registers: [registry],
  });
  for (const reason of ['missing', 'unknown', 'scope']) authRejected.inc({ reason }, 0);
  const rateLimited = new Counter({
    name: 'nodeagg_rate_limited_total',
    help: 'Requests refused 429 by a per-token limit (token = its name in the tokens file) or the total-node bound.',
    labelNames: ['token', 'limit'],
    registers: [registry],
  });
  const replicationTimeouts = new Counter({
    name: 'nodeagg_replication_timeouts_total',
    help: 'Writes (group commits) whose samples fewer than REDIS_WAIT_REPLICAS replicas confirmed in time; their requests answered 503 REPLICATION_TIMEOUT.',
    registers: [registry],
  });
  new Gauge({
    name: 'nodeagg_redis_wait_replicas',
    help: 'REDIS_WAIT_REPLICAS: replicas that must confirm a write before ingest answers 202 (0: the master alone).',
    registers: [registry],
  }).set(waitReplicas);
  const middleware: Middleware = async (ctx, next) => {
    const startedAt = performance.now();
    try {
      await next();
    } finally {
      // Through ctx.request and ctx.response, not ctx's delegating getters (see answer.ts).
      const method = ctx.request.method;
      requests.record(method, routeTemplateOf(ctx, method), ctx.response.status, (performance.now() - startedAt) / 1000);
    }
  };
  return { registry, samplesAccepted, authRejected, rateLimited, replicationTimeouts, middleware };
}

interface MatchedLayer {
  path: string | RegExp;
  methods: string[];
}

/**
 * The template of the route that answered ("/v1/nodes/:nodename"), never the path (node
 * names must not explode label cardinality) and never a middleware's pattern: the router's
 * matched layers include router.use() middleware, whose paths are regular expressions.
 */
export function routeTemplateOf(ctx: Context, method: string): string {
  const matched = (ctx as { matched?: MatchedLayer[] }).matched;
  if (matched === undefined) return 'unmatched';
  let firstRoute: string | undefined;
  for (const layer of matched) {
    if (layer.methods.length === 0 || typeof layer.path !== 'string') continue;
    if (layer.methods.includes(method)) return layer.path;
    firstRoute ??= layer.path;
  }
  return firstRoute ?? 'unmatched';
}

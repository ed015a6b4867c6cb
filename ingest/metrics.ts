/** Prometheus metrics of the ingest service. */
import type { Middleware } from 'koa';
import { Counter, Histogram, Registry } from 'prom-client';
import { collectProcessMetrics } from '../shared/process-metrics';

export interface IngestMetrics {
  registry: Registry;
  samplesAccepted: Counter;
  middleware: Middleware;
}

export function createIngestMetrics(): IngestMetrics {
  const registry = new Registry();
  collectProcessMetrics(registry, 'nodeagg_ingest_');
  const requests = new Histogram({
    name: 'nodeagg_http_request_duration_seconds',
    help: 'HTTP request duration by route and status.',
    labelNames: ['method', 'route', 'status'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5],
    registers: [registry],
  });
  const samplesAccepted = new Counter({
    name: 'nodeagg_samples_accepted_total',
    help: 'Samples appended to the stream (answered 202).',
    registers: [registry],
  });
  const middleware: Middleware = async (ctx, next) => {
    const end = requests.startTimer();
    try {
      await next();
    } finally {
      // The route pattern, not the path: node names must not explode label cardinality.
      const route = (ctx as { _matchedRoute?: string })._matchedRoute ?? 'unmatched';
      end({ method: ctx.method, route: String(route), status: String(ctx.status) });
    }
  };
  return { registry, samplesAccepted, middleware };
}

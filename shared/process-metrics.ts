/** prom-client's default process and Node.js metrics, under a service prefix, named as Prometheus expects. */
import { collectDefaultMetrics, type Registry } from 'prom-client';

/** Gauges prom-client names with a _total suffix, which Prometheus reserves for counters (promtool check metrics rejects them). */
const GAUGES_NAMED_LIKE_COUNTERS = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'];

export function collectProcessMetrics(registry: Registry, prefix: string): void {
  collectDefaultMetrics({ register: registry, prefix });
  for (const name of GAUGES_NAMED_LIKE_COUNTERS) registry.removeSingleMetric(`${prefix}${name}`);
}

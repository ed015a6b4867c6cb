/**
 * A service instrumented with the OpenTelemetry JS SDK (sdk-metrics + host-metrics), in its own
 * process as in production: `node otel-sdk-service.cjs <url> <proto|json> <host.name> <exports>`,
 * with a write token in NODEAGG_TOKEN. Exports `<exports>` times, one second apart, and prints one JSON line per export: what the SDK
 * read (the points of the metrics ingest maps) and how the export ended.
 */
/* global process, setTimeout */
/* eslint-disable @typescript-eslint/no-require-imports -- a CommonJS script that node runs directly */
const { OTLPMetricExporter: ProtobufExporter } = require('@opentelemetry/exporter-metrics-otlp-proto');
const { OTLPMetricExporter: JsonExporter } = require('@opentelemetry/exporter-metrics-otlp-http');
const { HostMetrics } = require('@opentelemetry/host-metrics');
const { detectResources, hostDetector, processDetector, resourceFromAttributes } = require('@opentelemetry/resources');
const { MeterProvider, PeriodicExportingMetricReader } = require('@opentelemetry/sdk-metrics');

const [url, protocol, hostName, exportsArg] = process.argv.slice(2);
const MAPPED = ['system.cpu.utilization', 'system.memory.utilization', 'process.cpu.utilization', 'process.memory.usage'];

const token = process.env.NODEAGG_TOKEN;
const options = { url, headers: { 'Nodeagg-Interval': '1', ...(token ? { Authorization: `Bearer ${token}` } : {}) } };
const real = protocol === 'proto' ? new ProtobufExporter({ ...options, compression: 'gzip' }) : new JsonExporter(options);

/** Passes each export on to the real exporter and reports it. */
const exporter = {
  export(metrics, done) {
    const points = [];
    for (const scope of metrics.scopeMetrics) {
      for (const metric of scope.metrics) {
        if (!MAPPED.includes(metric.descriptor.name)) continue;
        for (const p of metric.dataPoints) {
          points.push({
            name: metric.descriptor.name,
            attributes: p.attributes,
            value: p.value,
            timeMs: p.endTime[0] * 1000 + p.endTime[1] / 1e6,
          });
        }
      }
    }
    real.export(metrics, (result) => {
      const line = {
        code: result.code,
        error: result.error ? String(result.error.message) : null,
        resource: metrics.resource.attributes,
        points,
      };
      process.stdout.write(`${JSON.stringify(line)}\n`);
      done(result);
    });
  },
  forceFlush: () => real.forceFlush(),
  shutdown: () => real.shutdown(),
  selectAggregationTemporality: (kind) => real.selectAggregationTemporality(kind),
};

async function main() {
  // Exports are forced once a second below, instead of waiting for the reader's interval.
  const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 });
  const resource = detectResources({ detectors: [hostDetector, processDetector] }).merge(resourceFromAttributes({ 'host.name': hostName }));
  const provider = new MeterProvider({ resource, readers: [reader] });
  new HostMetrics({ meterProvider: provider, name: 'node-aggregation-test' }).start();
  for (let i = 0; i < Number(exportsArg); i++) {
    // Some CPU work, so that the process's utilization is not zero, then one reading and export.
    const until = Date.now() + 300;
    while (Date.now() < until) Math.sqrt(Math.random());
    await new Promise((resolve) => setTimeout(resolve, 700));
    await reader.forceFlush();
  }
  // No provider.shutdown(): it would export once more, right after the last export.
  process.exit(0);
}

main().catch((error) => {
  process.stderr.write(`${error.stack}\n`);
  process.exit(1);
});

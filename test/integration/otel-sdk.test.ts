/**
 * The real OpenTelemetry JS SDK (sdk-metrics + host-metrics) in its own process, exporting to a
 * private ingest with both OTLP/HTTP exporters (protobuf with gzip, and JSON): the node and that
 * process appear with the values the SDK read.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { RedisClient } from '../../shared/redis';
import { waitForDrained } from '../support/stream-drain';
import { request } from '../support/fetch-json';
import { startPipeline, type TestPipeline } from '../support/pipeline';
import { testConfig, testRedis } from '../support/test-config';
import { bearer, testTokens } from '../support/tokens';

const SERVICE = join(__dirname, '..', 'support', 'otel-sdk-service.cjs');

interface SdkPoint {
  name: string;
  attributes: Record<string, string | number>;
  value: number;
  timeMs: number;
}

interface SdkExport {
  code: number;
  error: string | null;
  resource: Record<string, string | number>;
  points: SdkPoint[];
}

/** What the mapping in docs/AGENTS.md makes of one export, computed from the SDK's own readings. */
function expected(sdkExport: SdkExport) {
  const of = (name: string) => sdkExport.points.filter((p) => p.name === name);
  const cpu = of('system.cpu.utilization');
  const cpus = new Set(cpu.map((p) => p.attributes['system.cpu.logical_number'])).size;
  const idle = cpu.filter((p) => p.attributes['system.cpu.state'] === 'idle').reduce((s, p) => s + p.value, 0);
  const used = of('system.memory.utilization').find((p) => p.attributes['system.memory.state'] === 'used')!;
  return {
    at: Math.round(cpu[0]!.timeMs),
    cpu: Math.min(100, Math.max(0, (1 - idle / cpus) * 100)),
    mem: used.value * 100,
    process: String(sdkExport.resource['process.executable.name']),
    cpuUsed: of('process.cpu.utilization').reduce((s, p) => s + p.value, 0) * cpus * 100,
    memUsed: of('process.memory.usage')[0]!.value / (1024 * 1024),
  };
}

describe('OpenTelemetry JS SDK -> POST /otlp/v1/metrics', () => {
  let pipeline: TestPipeline;
  let redis: RedisClient;
  const tokens = testTokens();
  const get = (path: string) => request(`${pipeline.url}${path}`, { headers: bearer(tokens.secrets.read) });

  beforeAll(async () => {
    pipeline = await startPipeline(testConfig({ STREAM_PARTITIONS: '2', API_TOKENS: tokens.apiTokens }));
    redis = testRedis(pipeline.config);
    await redis.connect();
  });
  afterAll(async () => {
    await redis.quit();
    await pipeline.stop();
  });

  test.each([
    ['exporter-metrics-otlp-proto (protobuf, gzip)', 'proto'],
    ['exporter-metrics-otlp-http (JSON)', 'json'],
  ])('%s: the node and its process appear with the values the SDK read', async (_label, protocol) => {
    const node = `otel-sdk-${randomBytes(4).toString('hex')}`;
    const { stdout } = await promisify(execFile)(process.execPath, [SERVICE, `${pipeline.url}/otlp/v1/metrics`, protocol, node, '3'], {
      timeout: 45_000,
      env: { ...process.env, NODEAGG_TOKEN: tokens.secrets.write },
    });
    const exports = stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as SdkExport);
    expect(exports.map((e) => [e.code, e.error])).toEqual([
      [0, null],
      [0, null],
      [0, null],
    ]); // ExportResultCode.SUCCESS, no partial-success warning needed
    const want = expected(exports[exports.length - 1]!);

    await waitForDrained(redis, pipeline.config.keyPrefix, 2, pipeline.config.consumerGroup, 20_000);
    const detail = (await get(`/v1/nodes/${node}`)).body;
    expect(detail.latest.at).toBe(new Date(want.at).toISOString());
    expect(detail.latest.timeslice).toBe(1);
    expect(detail.latest.cpu).toBeCloseTo(want.cpu, 6);
    expect(detail.latest.mem).toBeCloseTo(want.mem, 6);
    expect(want.mem).toBeGreaterThan(0);
    expect(detail.windows['1m'].samples).toBe(3);
    expect(detail.processes.map((p: { name: string }) => p.name)).toEqual([want.process]);

    const listed = (await get('/v1/nodes')).body;
    const rows = Array.isArray(listed) ? listed : listed.nodes;
    expect(rows.map((n: { name: string }) => n.name)).toContain(node);

    // The process's window of the last second holds only the last export's sample.
    const proc = (await get(`/v1/analytics/processes/${encodeURIComponent(want.process)}?timeslice=1`)).body;
    expect(proc.cpu_used).toBeCloseTo(want.cpuUsed, 6);
    expect(proc.mem_used).toBeCloseTo(want.memUsed, 6);
    expect(want.memUsed).toBeGreaterThan(1);
    expect(want.cpuUsed).toBeGreaterThan(0);
  });
});

/** POST /otlp/v1/metrics with hand-built exports: mapping, partial success, every error answer, retries. */
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { decodeExportResponse, decodeStatus, encodeMetricsRequest } from '../../ingest/otlp/otlp-protocol';
import { allPartitionKeys } from '../../shared/store/keys';
import type { RedisClient } from '../../shared/redis';
import { processSampleCount } from '../support/process-totals';
import { waitForDrained } from '../support/stream-drain';
import { postJson, request } from '../support/fetch-json';
import { bearer, testTokens } from '../support/tokens';
import {
  cumulativeSum,
  exportRequest,
  gauge,
  hostResource,
  processResource,
  resourceMetrics,
  type ProcessReading,
} from '../support/otlp-fixtures';
import { startPipeline, type TestPipeline } from '../support/pipeline';
import { testConfig, testRedis } from '../support/test-config';

const PARTITIONS = 2;

async function storedEntries(redis: RedisClient, prefix: string, partitions = PARTITIONS): Promise<number> {
  const lengths = await Promise.all(allPartitionKeys(prefix, partitions).map((p) => redis.xlen(p.stream)));
  return lengths.reduce((a, b) => a + b, 0);
}

function postOtlp(url: string, body: Buffer | string, type: string, headers: Record<string, string> = {}) {
  return fetch(`${url}/otlp/v1/metrics`, { method: 'POST', headers: { 'content-type': type, ...headers }, body });
}

describe('POST /otlp/v1/metrics', () => {
  let pipeline: TestPipeline;
  let redis: RedisClient;
  const now = () => Date.now() - 2000;

  beforeAll(async () => {
    pipeline = await startPipeline(
      testConfig({
        STREAM_PARTITIONS: String(PARTITIONS),
        OTLP_GAUGE_INTERVAL_SECONDS: '10',
        MAX_AGENT_POINTS: '500',
        MAX_BATCH_ITEMS: '5',
      }),
    );
    redis = testRedis(pipeline.config);
    await redis.connect();
  });
  afterAll(async () => {
    await redis.quit();
    await pipeline.stop();
  });

  const drain = () => waitForDrained(redis, pipeline.config.keyPrefix, PARTITIONS, pipeline.config.consumerGroup, 20_000);

  test('OTLP/JSON host and process metrics become node and process samples', async () => {
    const t = now();
    const proc = (pid: number): ProcessReading => ({
      node: 'otlp-json-1',
      name: 'nginx',
      pid,
      timeMs: t,
      user: 0.05,
      system: 0.025,
      rssBytes: 100 * 1048576,
    });
    const body = exportRequest([
      hostResource({ node: 'otlp-json-1', timeMs: t, idle: [0.6, 0.8], memUsedShare: 0.42 }),
      processResource(proc(101)),
      processResource(proc(102)),
    ]);
    const response = await postOtlp(pipeline.url, JSON.stringify(body), 'application/json');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await response.json()).toEqual({});
    await drain();

    const node = (await request(`${pipeline.url}/v1/nodes/otlp-json-1`)).body;
    // 1 - mean idle (0.7) = 30 %; memory used share 0.42 = 42 %; gauges take OTLP_GAUGE_INTERVAL_SECONDS.
    expect(node.latest).toMatchObject({ at: new Date(t).toISOString(), timeslice: 10 });
    expect(node.latest.cpu).toBeCloseTo(30, 9);
    expect(node.latest.mem).toBeCloseTo(42, 9);
    expect(node.processes.map((p: { name: string }) => p.name)).toEqual(['nginx']);
    const nginx = (await request(`${pipeline.url}/v1/analytics/processes/nginx?timeslice=60`)).body;
    // Two processes of one name are summed: (0.075 share x 2 CPUs x 100) x 2 = 30 % of one CPU, 200 MB.
    expect(nginx.cpu_used).toBeCloseTo(30, 6);
    expect(nginx.mem_used).toBeCloseTo(200, 6);
    expect(nginx.num_instances).toBe(1);
  });

  test('protobuf with gzip is accepted and answered in protobuf', async () => {
    const t = now();
    const body = gzipSync(
      encodeMetricsRequest(exportRequest([hostResource({ node: 'otlp-proto-1', timeMs: t, idle: [0.25], memUsedShare: 0.5 })])),
    );
    const response = await postOtlp(pipeline.url, body, 'application/x-protobuf', { 'content-encoding': 'gzip' });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/x-protobuf');
    const answer = decodeExportResponse(new Uint8Array(await response.arrayBuffer()));
    expect(answer.partialSuccess).toBeUndefined();
    await drain();
    const node = (await request(`${pipeline.url}/v1/nodes/otlp-proto-1`)).body;
    expect(node.latest).toMatchObject({ cpu: 75, mem: 50 });
  });

  test('the Collector defaults (cumulative *.time counters) are rejected in partial_success with what to enable; nothing is stored', async () => {
    const before = await storedEntries(redis, pipeline.config.keyPrefix);
    const t = now();
    const start = t - 3_600_000;
    const body = exportRequest([
      resourceMetrics({ 'host.name': 'otlp-defaults-1' }, [
        cumulativeSum(
          'system.cpu.time',
          t,
          [
            { value: 100, attrs: { cpu: 'cpu0', state: 'idle' } },
            { value: 20, attrs: { cpu: 'cpu0', state: 'user' } },
          ],
          start,
        ),
        gauge('system.memory.usage', t, [
          { value: 1e9, attrs: { state: 'used' } },
          { value: 3e9, attrs: { state: 'free' } },
        ]),
        gauge('system.network.io', t, [{ value: 5 }]),
      ]),
      resourceMetrics({ 'host.name': 'otlp-defaults-1', 'process.executable.name': 'redis-server' }, [
        cumulativeSum('process.cpu.time', t, [{ value: 3, attrs: { state: 'user' } }], start),
        gauge('process.memory.usage', t, [{ value: 5e6 }]),
      ]),
    ]);
    const response = await postOtlp(pipeline.url, encodeMetricsRequest(body), 'application/x-protobuf');
    expect(response.status).toBe(200);
    const { partialSuccess } = decodeExportResponse(new Uint8Array(await response.arrayBuffer()));
    // 2 + 2 host points and 1 + 1 process points; system.network.io is not ours and is ignored.
    expect(partialSuccess?.rejectedDataPoints).toBe(6);
    expect(partialSuccess?.errorMessage).toContain('enable system.cpu.utilization');
    expect(partialSuccess?.errorMessage).toContain('enable process.cpu.utilization');
    expect(await storedEntries(redis, pipeline.config.keyPrefix)).toBe(before);
  });

  test('a bad host name or a stale point rejects only its own points (JSON partialSuccess)', async () => {
    const t = now();
    const body = exportRequest([
      hostResource({ node: 'otlp-partial-1', timeMs: t, idle: [0.5], memUsedShare: 0.1 }),
      hostResource({ node: 'bad name!', timeMs: t, idle: [0.5], memUsedShare: 0.1 }),
      hostResource({ node: 'otlp-partial-2', timeMs: t - 25 * 3600 * 1000, idle: [0.5], memUsedShare: 0.1 }),
      resourceMetrics({ 'service.name': 'no-host' }, [gauge('system.cpu.utilization', t, [{ value: 1, attrs: { state: 'idle' } }])]),
    ]);
    const response = await postOtlp(pipeline.url, JSON.stringify(body), 'application/json');
    expect(response.status).toBe(200);
    const answer = (await response.json()) as { partialSuccess: { rejectedDataPoints: string; errorMessage: string } };
    // Each host: 3 CPU points + 2 memory-utilization points; the resource without a host: 1.
    expect(answer.partialSuccess.rejectedDataPoints).toBe('11');
    expect(answer.partialSuccess.errorMessage).toContain('node bad name!: node must be');
    expect(answer.partialSuccess.errorMessage).toContain('node otlp-partial-2: at must be within the last 24 hours');
    expect(answer.partialSuccess.errorMessage).toContain('neither host.name nor k8s.node.name');
    await drain();
    expect((await fetch(`${pipeline.url}/v1/nodes/otlp-partial-1`)).status).toBe(200);
    expect((await fetch(`${pipeline.url}/v1/nodes/otlp-partial-2`)).status).toBe(404);
  });

  test('a retried export (same bytes) counts once', async () => {
    const t = now();
    const body = encodeMetricsRequest(exportRequest([hostResource({ node: 'otlp-retry-1', timeMs: t, idle: [0.9], memUsedShare: 0.3 })]));
    const first = await postOtlp(pipeline.url, body, 'application/x-protobuf');
    const second = await postOtlp(pipeline.url, body, 'application/x-protobuf');
    expect([first.status, second.status]).toEqual([200, 200]);
    expect(second.headers.get('idempotent-replayed')).toBe('true');
    // The body's digest is remembered for AGENT_IDEMPOTENCY_TTL_SECONDS (600 by default), not a day.
    const records = await redis.keys(`${pipeline.config.keyPrefix}:*:idem:*`);
    expect(records.length).toBeGreaterThan(0);
    for (const record of records) expect(await redis.ttl(record)).toBeLessThanOrEqual(600);
    await drain();
    const node = (await request(`${pipeline.url}/v1/nodes/otlp-retry-1`)).body;
    expect(node.windows['1m'].samples).toBe(1);
  });

  test('every malformed request gets a small OTLP error answer and stores nothing', async () => {
    const before = await storedEntries(redis, pipeline.config.keyPrefix);
    const t = now();
    const valid = JSON.stringify(exportRequest([hostResource({ node: 'otlp-never-1', timeMs: t, idle: [0.5], memUsedShare: 0.5 })]));
    const tooMany = exportRequest([hostResource({ node: 'otlp-never-2', timeMs: t, idle: new Array(200).fill(0.5), memUsedShare: 0.5 })]);

    const cases: { name: string; send: () => Promise<Response>; status: number; format: 'json' | 'protobuf' | 'project'; code: string }[] =
      [
        {
          name: 'no content type',
          send: () => fetch(`${pipeline.url}/otlp/v1/metrics`, { method: 'POST', body: valid }),
          status: 415,
          format: 'project',
          code: 'UNSUPPORTED_MEDIA_TYPE',
        },
        {
          name: 'text/plain',
          send: () => postOtlp(pipeline.url, valid, 'text/plain'),
          status: 415,
          format: 'project',
          code: 'UNSUPPORTED_MEDIA_TYPE',
        },
        {
          name: 'brotli',
          send: () => postOtlp(pipeline.url, valid, 'application/json', { 'content-encoding': 'br' }),
          status: 415,
          format: 'json',
          code: 'UNSUPPORTED_MEDIA_TYPE',
        },
        {
          name: 'not protobuf',
          send: () => postOtlp(pipeline.url, Buffer.from([0x0a, 0xff, 0xff, 0xff, 0x0f, 0x01]), 'application/x-protobuf'),
          status: 400,
          format: 'protobuf',
          code: 'INVALID_PROTOBUF',
        },
        {
          name: 'resource_metrics not length-delimited',
          send: () => postOtlp(pipeline.url, Buffer.from([0x08, 0x05]), 'application/x-protobuf'),
          status: 400,
          format: 'protobuf',
          code: 'INVALID_PROTOBUF',
        },
        {
          name: 'whole resources, then the body breaks off',
          send: () => {
            const whole = encodeMetricsRequest(
              exportRequest([
                hostResource({ node: 'otlp-never-3', timeMs: t, idle: [0.5], memUsedShare: 0.5 }),
                hostResource({ node: 'otlp-never-4', timeMs: t, idle: [0.5], memUsedShare: 0.5 }),
              ]),
            );
            return postOtlp(pipeline.url, whole.subarray(0, whole.length - 3), 'application/x-protobuf');
          },
          status: 400,
          format: 'protobuf',
          code: 'INVALID_PROTOBUF',
        },
        {
          name: 'not JSON',
          send: () => postOtlp(pipeline.url, '{"resourceMetrics": [', 'application/json'),
          status: 400,
          format: 'json',
          code: 'INVALID_JSON',
        },
        {
          name: 'JSON array',
          send: () => postOtlp(pipeline.url, '[]', 'application/json'),
          status: 400,
          format: 'json',
          code: 'INVALID_OTLP_JSON',
        },
        {
          name: 'wrong shape',
          send: () => postOtlp(pipeline.url, '{"resourceMetrics": [{"scopeMetrics": 5}]}', 'application/json'),
          status: 400,
          format: 'json',
          code: 'INVALID_OTLP_JSON',
        },
        {
          name: 'bad gzip',
          send: () => postOtlp(pipeline.url, Buffer.from('not gzip'), 'application/x-protobuf', { 'content-encoding': 'gzip' }),
          status: 400,
          format: 'protobuf',
          code: 'INVALID_GZIP',
        },
        {
          name: 'too many points',
          send: () => postOtlp(pipeline.url, encodeMetricsRequest(tooMany), 'application/x-protobuf'),
          status: 413,
          format: 'protobuf',
          code: 'PAYLOAD_TOO_LARGE',
        },
        {
          name: 'more samples than MAX_BATCH_ITEMS',
          send: () =>
            postOtlp(
              pipeline.url,
              encodeMetricsRequest(
                exportRequest(
                  Array.from({ length: 6 }, (_, i) =>
                    hostResource({ node: `otlp-never-${10 + i}`, timeMs: t, idle: [0.5], memUsedShare: 0.5 }),
                  ),
                ),
              ),
              'application/x-protobuf',
            ),
          status: 413,
          format: 'protobuf',
          code: 'PAYLOAD_TOO_LARGE',
        },
        {
          name: 'many empty resources',
          send: () => postOtlp(pipeline.url, encodeMetricsRequest({ resourceMetrics: new Array(501).fill({}) }), 'application/x-protobuf'),
          status: 413,
          format: 'protobuf',
          code: 'PAYLOAD_TOO_LARGE',
        },
        {
          name: 'gzip bomb',
          send: () =>
            postOtlp(pipeline.url, gzipSync(Buffer.alloc(20 * 1024 * 1024)), 'application/x-protobuf', { 'content-encoding': 'gzip' }),
          status: 413,
          format: 'protobuf',
          code: 'PAYLOAD_TOO_LARGE',
        },
        {
          name: 'bad interval',
          send: () => postOtlp(pipeline.url, valid, 'application/json', { 'nodeagg-interval': '0' }),
          status: 400,
          format: 'json',
          code: 'INVALID_INTERVAL',
        },
      ];
    for (const c of cases) {
      const response = await c.send();
      const bytes = new Uint8Array(await response.arrayBuffer());
      expect({ name: c.name, status: response.status }).toEqual({ name: c.name, status: c.status });
      expect(bytes.length).toBeLessThan(64 * 1024);
      if (c.format === 'protobuf') {
        expect(response.headers.get('content-type')).toBe('application/x-protobuf');
        const status = decodeStatus(bytes);
        expect(status.code).toBe(3); // INVALID_ARGUMENT: not retryable
        expect(status.message).toContain(c.code);
      } else {
        const body = JSON.parse(Buffer.from(bytes).toString('utf8'));
        expect(body.error.code).toBe(c.code);
        if (c.format === 'json') expect(body.code).toBe(3);
      }
    }
    expect(await storedEntries(redis, pipeline.config.keyPrefix)).toBe(before);
  });
  test('damaged exports never answer a 5xx and never store a sample they refuse', async () => {
    const t = now();
    const valid = exportRequest([
      hostResource({ node: 'otlp-fuzz-1', timeMs: t, idle: [0.5, 0.4], memUsedShare: 0.3 }),
      processResource({ node: 'otlp-fuzz-1', name: 'fuzzed', pid: 7, timeMs: t, user: 0.1, system: 0.1, rssBytes: 1e6 }),
    ]);
    const bytes = encodeMetricsRequest(valid);
    const json = JSON.stringify(valid);
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }), { minLength: 1, maxLength: 8 }),
        fc.boolean(),
        async (flips, asJson) => {
          const body = Buffer.from(asJson ? json : bytes);
          for (const f of flips) body[f.at % body.length] = f.byte;
          const before = await storedEntries(redis, pipeline.config.keyPrefix);
          const response = await postOtlp(pipeline.url, body, asJson ? 'application/json' : 'application/x-protobuf');
          const answer = new Uint8Array(await response.arrayBuffer());
          expect([200, 400, 413]).toContain(response.status);
          expect(answer.length).toBeLessThan(64 * 1024);
          if (response.status !== 200) expect(await storedEntries(redis, pipeline.config.keyPrefix)).toBe(before);
        },
      ),
      { numRuns: 150 },
    );
  });
});

describe('POST /otlp/v1/metrics under backpressure', () => {
  test('answers 503 with Retry-After and an UNAVAILABLE status, so exporters retry', async () => {
    const config = testConfig({
      STREAM_PARTITIONS: '1',
      MAX_PARTITION_LAG: '1',
      BACKPRESSURE_REFRESH_MS: '20',
      AGENT_IDEMPOTENCY_TTL_SECONDS: '0',
    });
    const pipeline = await startPipeline(config, { worker: false });
    try {
      let response: Response | undefined;
      for (let i = 0; i < 200; i++) {
        const body = encodeMetricsRequest(
          exportRequest([hostResource({ node: 'otlp-busy', timeMs: Date.now() - 1000 - i, idle: [0.5], memUsedShare: 0.5 })]),
        );
        response = await postOtlp(pipeline.url, body, 'application/x-protobuf');
        if (response.status === 503) break;
        expect(response.status).toBe(200);
        await new Promise((r) => setTimeout(r, 30));
      }
      expect(response!.status).toBe(503);
      expect(Number(response!.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(decodeStatus(new Uint8Array(await response!.arrayBuffer())).code).toBe(14);
      // AGENT_IDEMPOTENCY_TTL_SECONDS=0: no digest records were written for the accepted exports.
      const redis = testRedis(config);
      await redis.connect();
      expect(await redis.keys(`${config.keyPrefix}:*:idem:*`)).toEqual([]);
      await redis.quit();
    } finally {
      await pipeline.stop();
    }
  });
});

describe('POST /otlp/v1/metrics at fleet sizes', () => {
  test('one export of a node with 3,000 processes, as the Collector sends it, stores every sample exactly once', async () => {
    const config = testConfig({ STREAM_PARTITIONS: '4' });
    const pipeline = await startPipeline(config);
    const redis = testRedis(config);
    await redis.connect();
    try {
      const t = Date.now() - 2000;
      const processes = Array.from({ length: 3000 }, (_, i) =>
        processResource({
          node: 'otlp-big-1',
          name: `proc-${i % 1500}`,
          pid: 10_000 + i,
          timeMs: t,
          user: 0.001,
          system: 0.001,
          rssBytes: 1048576,
        }),
      );
      const body = gzipSync(
        encodeMetricsRequest(
          exportRequest([hostResource({ node: 'otlp-big-1', timeMs: t, idle: new Array(64).fill(0.5), memUsedShare: 0.5 }), ...processes]),
        ),
      );
      const response = await postOtlp(pipeline.url, body, 'application/x-protobuf', { 'content-encoding': 'gzip' });
      expect(response.status).toBe(200);
      expect((await response.arrayBuffer()).byteLength).toBe(0); // no partial success
      await waitForDrained(redis, config.keyPrefix, 4, config.consumerGroup, 30_000);
      // 3,000 processes under 1,500 names: two of each name are summed into one sample.
      expect(await processSampleCount(redis, config.keyPrefix, 4)).toBe(1500);
      const node = (await request(`${pipeline.url}/v1/nodes/otlp-big-1`)).body;
      expect(node.processes).toHaveLength(1500);
      expect(node.windows['1m'].samples).toBe(1);
      // Each name: 2 processes x 0.002 of 64 CPUs x 100 = 25.6 % of one CPU, 2 MB.
      const one = (await request(`${pipeline.url}/v1/analytics/processes/proc-7?timeslice=60`)).body;
      expect(one.cpu_used).toBeCloseTo(25.6, 6);
      expect(one.mem_used).toBeCloseTo(2, 6);
    } finally {
      await redis.quit();
      await pipeline.stop();
    }
  });
});

describe('POST /otlp/v1/metrics and /collectd with tokens', () => {
  test('without a token: 401 as an OTLP Status (UNAUTHENTICATED) with the Bearer challenge; with the write token: stored', async () => {
    const tokens = testTokens();
    const config = testConfig({ API_TOKENS: tokens.apiTokens, STREAM_PARTITIONS: '1' });
    const pipeline = await startPipeline(config);
    const redis = testRedis(config);
    await redis.connect();
    try {
      const body = encodeMetricsRequest(
        exportRequest([hostResource({ node: 'otlp-auth-1', timeMs: Date.now() - 1000, idle: [0.5], memUsedShare: 0.5 })]),
      );
      const anonymous = await postOtlp(pipeline.url, body, 'application/x-protobuf');
      expect(anonymous.status).toBe(401);
      expect(anonymous.headers.get('www-authenticate')).toMatch(/^Bearer/);
      expect(decodeStatus(new Uint8Array(await anonymous.arrayBuffer()))).toMatchObject({
        code: 16,
        message: expect.stringContaining('UNAUTHENTICATED'),
      });
      const reader = await postOtlp(pipeline.url, body, 'application/x-protobuf', bearer(tokens.secrets.read));
      expect(reader.status).toBe(403);
      expect(decodeStatus(new Uint8Array(await reader.arrayBuffer())).code).toBe(7); // PERMISSION_DENIED
      const collectdAnonymous = await postJson(`${pipeline.url}/collectd`, []);
      expect([collectdAnonymous.status, collectdAnonymous.body.error.code]).toEqual([401, 'UNAUTHENTICATED']);
      expect(await storedEntries(redis, config.keyPrefix, 1)).toBe(0);

      const writer = await postOtlp(pipeline.url, body, 'application/x-protobuf', bearer(tokens.secrets.write));
      expect(writer.status).toBe(200);
      expect(await storedEntries(redis, config.keyPrefix, 1)).toBe(1);
    } finally {
      await redis.quit();
      await pipeline.stop();
    }
  });
});

/** Every way a client can be wrong: a clear 4xx error body, and nothing appended. */
import { gzipSync } from 'node:zlib';
import { allPartitionKeys } from '../../shared/store/keys';
import type { RedisClient } from '../../shared/redis';
import { baseTime } from '../support/build-sample';
import { request } from '../support/fetch-json';
import { startPipeline, type TestPipeline } from '../support/pipeline';
import { testConfig, testRedis } from '../support/test-config';

interface BadRequest {
  name: string;
  method?: string;
  path: string;
  body?: string | Buffer;
  headers?: Record<string, string>;
  status: number;
  code: string;
  field?: string;
}

const json = { 'content-type': 'application/json' };
const node = (body: unknown) => JSON.stringify(body);
const t = baseTime();
const ok = { timeslice: 10, cpu: 20, mem: 30 };
const okProcess = { timeslice: 10, cpu_used: 20, mem_used: 30 };
const okItem = { node: 'n1', ...ok };

const cases: BadRequest[] = [
  { name: 'malformed JSON', path: '/v1/metrics/node/n1', body: '{"timeslice":', headers: json, status: 400, code: 'INVALID_JSON' },
  { name: 'empty body', path: '/v1/metrics/node/n1', body: '', headers: json, status: 400, code: 'EMPTY_BODY' },
  { name: 'body is an array', path: '/v1/metrics/node/n1', body: '[]', headers: json, status: 422, code: 'VALIDATION_FAILED' },
  {
    name: 'missing cpu',
    path: '/v1/metrics/node/n1',
    body: node({ timeslice: 10, mem: 3 }),
    headers: json,
    status: 422,
    code: 'VALIDATION_FAILED',
    field: 'cpu',
  },
  {
    name: 'cpu above 100',
    path: '/v1/metrics/node/n1',
    body: node({ ...ok, cpu: 100.5 }),
    headers: json,
    status: 422,
    code: 'VALIDATION_FAILED',
    field: 'cpu',
  },
  {
    name: 'negative mem',
    path: '/v1/metrics/node/n1',
    body: node({ ...ok, mem: -1 }),
    headers: json,
    status: 422,
    code: 'VALIDATION_FAILED',
    field: 'mem',
  },
  {
    name: 'cpu as a string',
    path: '/v1/metrics/node/n1',
    body: node({ ...ok, cpu: '20' }),
    headers: json,
    status: 422,
    code: 'VALIDATION_FAILED',
    field: 'cpu',
  },
  {
    name: 'zero timeslice',
    path: '/v1/metrics/node/n1',
    body: node({ ...ok, timeslice: 0 }),
    headers: json,
    status: 422,
    code: 'VALIDATION_FAILED',
    field: 'timeslice',
  },
  {
    name: 'timeslice over a day',
    path: '/v1/metrics/node/n1',
    body: node({ ...ok, timeslice: 86401 }),
    headers: json,
    status: 422,
    code: 'VALIDATION_FAILED',
    field: 'timeslice',
  },
  {
    name: 'unknown property',
    path: '/v1/metrics/node/n1',
    body: node({ ...ok, disk: 3 }),
    headers: json,
    status: 422,
    code: 'VALIDATION_FAILED',
    field: 'disk',
  },
  {
    name: 'at too old',
    path: '/v1/metrics/node/n1',
    body: node({ ...ok, at: t - 25 * 3600 * 1000 }),
    headers: json,
    status: 422,
    code: 'VALIDATION_FAILED',
    field: 'at',
  },
  {
    name: 'at in the future',
    path: '/v1/metrics/node/n1',
    body: node({ ...ok, at: Date.now() + 3600 * 1000 }),
    headers: json,
    status: 422,
    code: 'VALIDATION_FAILED',
    field: 'at',
  },
  {
    name: 'at not a date',
    path: '/v1/metrics/node/n1',
    body: node({ ...ok, at: 'yesterday' }),
    headers: json,
    status: 422,
    code: 'VALIDATION_FAILED',
    field: 'at',
  },
  {
    name: 'node name with a brace',
    path: '/v1/metrics/node/n%7B1%7D',
    body: node(ok),
    headers: json,
    status: 422,
    code: 'VALIDATION_FAILED',
    field: 'nodename',
  },
  {
    name: 'process name with a tab',
    path: '/v1/metrics/nodes/n1/process/a%09b',
    body: node(okProcess),
    headers: json,
    status: 422,
    code: 'VALIDATION_FAILED',
    field: 'processname',
  },
  {
    name: 'negative cpu_used',
    path: '/v1/metrics/nodes/n1/process/p',
    body: node({ ...okProcess, cpu_used: -2 }),
    headers: json,
    status: 422,
    code: 'VALIDATION_FAILED',
    field: 'cpu_used',
  },
  {
    name: 'node fields on a process route',
    path: '/v1/metrics/nodes/n1/process/p',
    body: node(ok),
    headers: json,
    status: 422,
    code: 'VALIDATION_FAILED',
  },
  {
    name: 'form-encoded body',
    path: '/v1/metrics/node/n1',
    body: 'cpu=1',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    status: 415,
    code: 'UNSUPPORTED_MEDIA_TYPE',
  },
  {
    name: 'unknown content encoding',
    path: '/v1/metrics/node/n1',
    body: node(ok),
    headers: { ...json, 'content-encoding': 'br' },
    status: 415,
    code: 'UNSUPPORTED_MEDIA_TYPE',
  },
  {
    name: 'broken gzip',
    path: '/v1/samples',
    body: Buffer.from('not gzip at all'),
    headers: { ...json, 'content-encoding': 'gzip' },
    status: 400,
    code: 'INVALID_GZIP',
  },
  {
    name: 'body over the size limit',
    path: '/v1/samples',
    body: JSON.stringify(Array(2000).fill(okItem)),
    headers: json,
    status: 413,
    code: 'PAYLOAD_TOO_LARGE',
  },
  {
    name: 'gzip bomb over the limit',
    path: '/v1/samples',
    body: gzipSync(Buffer.alloc(5_000_000, 32)),
    headers: { ...json, 'content-encoding': 'gzip' },
    status: 413,
    code: 'PAYLOAD_TOO_LARGE',
  },
  {
    name: 'more items than allowed',
    path: '/v1/samples',
    body: JSON.stringify(Array(11).fill(okItem)),
    headers: json,
    status: 413,
    code: 'PAYLOAD_TOO_LARGE',
  },
  { name: 'batch not an array', path: '/v1/samples', body: node(okItem), headers: json, status: 400, code: 'INVALID_BODY' },
  { name: 'empty batch', path: '/v1/samples', body: '[]', headers: json, status: 422, code: 'VALIDATION_FAILED' },
  {
    name: 'one bad item among good ones',
    path: '/v1/samples',
    body: JSON.stringify([okItem, { ...okItem, cpu: 101 }, okItem]),
    headers: json,
    status: 422,
    code: 'VALIDATION_FAILED',
    field: 'cpu',
  },
  {
    name: 'item without node',
    path: '/v1/samples',
    body: JSON.stringify([ok]),
    headers: json,
    status: 422,
    code: 'VALIDATION_FAILED',
    field: 'node',
  },
  { name: 'item that is not an object', path: '/v1/samples', body: '[1]', headers: json, status: 422, code: 'VALIDATION_FAILED' },
  {
    name: 'bad NDJSON line',
    path: '/v1/samples',
    body: `${node(okItem)}\n{oops\n`,
    headers: { 'content-type': 'application/x-ndjson' },
    status: 400,
    code: 'INVALID_JSON',
  },
  {
    name: 'NDJSON on a single-sample route',
    path: '/v1/metrics/node/n1',
    body: node(ok),
    headers: { 'content-type': 'application/x-ndjson' },
    status: 415,
    code: 'UNSUPPORTED_MEDIA_TYPE',
  },
  {
    name: 'timeslice query not a number',
    method: 'GET',
    path: '/v1/analytics/nodes/average?timeslice=abc',
    status: 400,
    code: 'INVALID_QUERY',
    field: 'timeslice',
  },
  {
    name: 'timeslice query negative',
    method: 'GET',
    path: '/v1/analytics/processes?timeslice=-5',
    status: 400,
    code: 'INVALID_QUERY',
    field: 'timeslice',
  },
  {
    name: 'timeslice query beyond retention',
    method: 'GET',
    path: '/v1/analytics/nodes/average?timeslice=90000',
    status: 400,
    code: 'INVALID_QUERY',
    field: 'timeslice',
  },
  {
    name: 'malformed after token',
    method: 'GET',
    path: '/v1/analytics/nodes/average?after=garbage',
    status: 400,
    code: 'INVALID_TOKEN',
    field: 'after',
  },
  {
    name: 'token for a partition that does not exist',
    method: 'GET',
    path: '/v1/analytics/nodes/average?after=99_1-0',
    status: 400,
    code: 'INVALID_TOKEN',
    field: 'after',
  },
  { name: 'unknown route', method: 'GET', path: '/v1/nothing-here', status: 404, code: 'NOT_FOUND' },
  { name: 'unknown node view', method: 'GET', path: '/v1/nodes/ghost', status: 404, code: 'NODE_NOT_FOUND' },
  {
    name: 'invalid process name in a query',
    method: 'GET',
    path: '/v1/analytics/processes/a%7Bb',
    status: 422,
    code: 'VALIDATION_FAILED',
    field: 'processname',
  },
  { name: 'GET on a POST route', method: 'GET', path: '/v1/metrics/node/n1', status: 405, code: 'METHOD_NOT_ALLOWED' },
  { name: 'DELETE on a query route', method: 'DELETE', path: '/v1/analytics/processes', status: 405, code: 'METHOD_NOT_ALLOWED' },
];

describe('bad requests', () => {
  let pipeline: TestPipeline;
  let redis: RedisClient;
  beforeAll(async () => {
    // No worker: anything appended would stay in the stream for the check below.
    pipeline = await startPipeline(testConfig({ MAX_BODY_BYTES: '65536', MAX_BATCH_ITEMS: '10' }), { worker: false });
    redis = testRedis(pipeline.config);
    await redis.connect();
  });
  afterAll(async () => {
    await redis.quit();
    await pipeline.stop();
  });

  async function appendedEntries(): Promise<number> {
    const lengths = await Promise.all(
      allPartitionKeys(pipeline.config.keyPrefix, pipeline.config.streamPartitions).map((p) => redis.xlen(p.stream)),
    );
    return lengths.reduce((a, b) => a + b, 0);
  }

  test.each(cases)('$name answers $status $code and appends nothing', async (c) => {
    const response = await request(`${pipeline.url}${c.path}`, { method: c.method ?? 'POST', headers: c.headers, body: c.body });
    expect(response.status).toBe(c.status);
    expect(response.body.error.code).toBe(c.code);
    expect(typeof response.body.error.message).toBe('string');
    if (c.field) expect(response.body.error.details.map((d: { field?: string }) => d.field)).toContain(c.field);
    expect(await appendedEntries()).toBe(0);
  });

  test('a batch with bad items names each bad index', async () => {
    const items = [okItem, { ...okItem, cpu: -1 }, okItem, { ...okItem, node: '' }];
    const response = await request(`${pipeline.url}/v1/samples`, { method: 'POST', headers: json, body: JSON.stringify(items) });
    expect(response.status).toBe(422);
    expect(response.body.error.details.map((d: { index: number }) => d.index)).toEqual([1, 3]);
  });

  test('405 names the allowed methods in the Allow header', async () => {
    const response = await request(`${pipeline.url}/v1/analytics/nodes/average`, { method: 'POST', headers: json, body: '{}' });
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toContain('GET');
  });

  // The write routes have a router of their own (ingest/app.ts): their 405s and OPTIONS must not differ.
  test.each(['/v1/samples', '/v1/metrics/node/n1', '/v1/metrics/node/n1/process/p1', '/otlp/v1/metrics', '/collectd'])(
    'a write route %s answers 405 and OPTIONS with Allow: POST',
    async (path) => {
      const wrong = await request(`${pipeline.url}${path}`, { method: 'PUT', headers: json, body: '{}' });
      expect(wrong.status).toBe(405);
      expect(wrong.body.error.code).toBe('METHOD_NOT_ALLOWED');
      expect(wrong.headers.get('allow')).toBe('POST');
      const options = await request(`${pipeline.url}${path}`, { method: 'OPTIONS' });
      expect(options.status).toBe(200);
      expect(options.headers.get('allow')).toBe('POST');
    },
  );
});

/** POST /collectd with value lists as write_http sends them: mapping, counts in the answer, every error answer. */
import { gzipSync } from 'node:zlib';
import { allPartitionKeys } from '../../shared/store/keys';
import type { RedisClient } from '../../shared/redis';
import { waitForDrained } from '../support/stream-drain';
import { postJson, request } from '../support/fetch-json';
import { startPipeline, type TestPipeline } from '../support/pipeline';
import { testConfig, testRedis } from '../support/test-config';

const PARTITIONS = 2;

interface ListOptions {
  host: string;
  time: number;
  plugin: string;
  type: string;
  typeInstance?: string;
  pluginInstance?: string;
  values: (number | null)[];
  dsnames?: string[];
}

function valueList(o: ListOptions) {
  const dsnames = o.dsnames ?? ['value'];
  return {
    values: o.values,
    dstypes: dsnames.map(() => (o.type === 'ps_cputime' ? 'derive' : 'gauge')),
    dsnames,
    time: o.time,
    interval: 1.0,
    host: o.host,
    plugin: o.plugin,
    plugin_instance: o.pluginInstance ?? '',
    type: o.type,
    type_instance: o.typeInstance ?? '',
  };
}

/** One reading of the cpu, memory and processes plugins as configured in docs/AGENTS.md. */
function reading(host: string, time: number, idle: number, used: number, cputime: [number | null, number | null], rssBytes: number) {
  const cpu = (typeInstance: string, value: number) =>
    valueList({ host, time, plugin: 'cpu', type: 'percent', typeInstance, values: [value] });
  const mem = (typeInstance: string, value: number) =>
    valueList({ host, time: time - 0.01, plugin: 'memory', type: 'percent', typeInstance, values: [value] });
  return [
    cpu('user', (100 - idle) * 0.8),
    cpu('system', (100 - idle) * 0.2),
    cpu('idle', idle),
    mem('used', used),
    mem('free', 100 - used),
    valueList({ host, time, plugin: 'processes', type: 'ps_state', typeInstance: 'running', values: [3] }),
    valueList({ host, time, plugin: 'processes', pluginInstance: 'nginx', type: 'ps_cputime', values: cputime, dsnames: ['user', 'syst'] }),
    valueList({ host, time, plugin: 'processes', pluginInstance: 'nginx', type: 'ps_rss', values: [rssBytes] }),
    valueList({ host, time, plugin: 'load', type: 'load', values: [0.1, 0.2, 0.3], dsnames: ['shortterm', 'midterm', 'longterm'] }),
  ];
}

describe('POST /collectd', () => {
  let pipeline: TestPipeline;
  let redis: RedisClient;

  beforeAll(async () => {
    pipeline = await startPipeline(testConfig({ STREAM_PARTITIONS: String(PARTITIONS), MAX_AGENT_POINTS: '100', MAX_BATCH_ITEMS: '4' }));
    redis = testRedis(pipeline.config);
    await redis.connect();
  });
  afterAll(async () => {
    await redis.quit();
    await pipeline.stop();
  });

  const stored = async () => {
    const lengths = await Promise.all(allPartitionKeys(pipeline.config.keyPrefix, PARTITIONS).map((p) => redis.xlen(p.stream)));
    return lengths.reduce((a, b) => a + b, 0);
  };
  const drain = () => waitForDrained(redis, pipeline.config.keyPrefix, PARTITIONS, pipeline.config.consumerGroup, 20_000);

  test('node and process samples, with ignored and skipped value lists counted', async () => {
    const t = Date.now() / 1000 - 5;
    // First reading: no CPU rate for the process yet ([null, null]); second: 0.3 s user + 0.1 s system per second.
    const body = [
      ...reading('cd-route-1', t - 1, 70, 40, [null, null], 50 * 1048576),
      ...reading('cd-route-1', t, 60, 42, [300_000, 100_000], 52 * 1048576),
    ];
    const response = await postJson(`${pipeline.url}/collectd`, body);
    expect(response.status).toBe(202);
    // Per reading: 5 lists make the node sample; ps_state and load are ignored; cputime + rss make a process sample.
    expect(response.body).toMatchObject({ accepted: 3, ignored: 4, skipped: 2, rejected: 0 });
    expect(response.body.ids.length).toBeGreaterThan(0);
    await drain();

    const node = (await request(`${pipeline.url}/v1/nodes/cd-route-1`)).body;
    expect(node.latest).toEqual({ at: new Date(Math.round(t * 1000)).toISOString(), timeslice: 1, cpu: 40, mem: 42 });
    expect(node.windows['1m'].samples).toBe(2);
    const nginx = (await request(`${pipeline.url}/v1/analytics/processes/nginx?timeslice=60`)).body;
    expect(nginx).toEqual({ timeslice: 1, cpu_used: 40, mem_used: 52, num_instances: 1 });
  });

  test('a bad host name or an old reading is rejected on its own and counted; the rest is stored', async () => {
    const t = Date.now() / 1000 - 5;
    const body = [
      ...reading('cd-route-2', t, 50, 50, [0, 0], 1048576),
      ...reading('bad host!', t, 50, 50, [0, 0], 1048576),
      ...reading('cd-route-3', t - 90_000, 50, 50, [0, 0], 1048576),
    ];
    const response = await postJson(`${pipeline.url}/collectd`, body);
    expect(response.status).toBe(202);
    expect(response.body).toMatchObject({ accepted: 2, rejected: 14 });
    expect(response.body.reason).toContain('node bad host!: node must be');
    expect(response.body.reason).toContain('at must be within the last 24 hours');
  });

  test('a POST of only first readings and other plugins stores nothing and says so', async () => {
    const before = await stored();
    const t = Date.now() / 1000 - 5;
    const body = reading('cd-route-4', t, 50, 50, [null, null], 1048576).filter((v) => v.plugin !== 'memory');
    const response = await postJson(`${pipeline.url}/collectd`, body);
    expect(response.status).toBe(202);
    expect(response.body).toEqual({ accepted: 0, ignored: 2, skipped: 5, rejected: 0, ids: [], token: null });
    expect(await stored()).toBe(before);
  });

  test('every malformed request gets a small error and stores nothing', async () => {
    const before = await stored();
    const t = Date.now() / 1000 - 5;
    const valid = JSON.stringify(reading('cd-never-1', t, 50, 50, [1, 1], 1048576));
    const post = (body: string | Buffer, headers: Record<string, string> = { 'content-type': 'application/json' }) =>
      request(`${pipeline.url}/collectd`, { method: 'POST', headers, body });
    const cases: [string, () => ReturnType<typeof post>, number, string][] = [
      ['no content type', () => post(valid, {}), 415, 'UNSUPPORTED_MEDIA_TYPE'],
      ['ndjson', () => post(valid, { 'content-type': 'application/x-ndjson' }), 415, 'UNSUPPORTED_MEDIA_TYPE'],
      ['not JSON', () => post('[{"values": ['), 400, 'INVALID_JSON'],
      ['an object', () => post('{"values": [1]}'), 400, 'INVALID_COLLECTD_JSON'],
      ['values not numbers', () => post(valid.replace('"values":[', '"values":["x",')), 400, 'INVALID_COLLECTD_JSON'],
      ['missing host', () => post(JSON.stringify([{ ...JSON.parse(valid)[0], host: undefined }])), 400, 'INVALID_COLLECTD_JSON'],
      ['too many value lists', () => post(JSON.stringify(new Array(101).fill(JSON.parse(valid)[0]))), 413, 'PAYLOAD_TOO_LARGE'],
      [
        'more samples than MAX_BATCH_ITEMS',
        () => post(JSON.stringify([1, 2, 3, 4, 5].flatMap((i) => reading(`cd-never-${i}`, t, 50, 50, [null, null], 1)))),
        413,
        'PAYLOAD_TOO_LARGE',
      ],
      ['bad gzip', () => post('nope', { 'content-type': 'application/json', 'content-encoding': 'gzip' }), 400, 'INVALID_GZIP'],
      [
        'gzip bomb',
        () => post(gzipSync(Buffer.alloc(20 * 1024 * 1024, 32)), { 'content-type': 'application/json', 'content-encoding': 'gzip' }),
        413,
        'PAYLOAD_TOO_LARGE',
      ],
    ];
    for (const [name, send, status, code] of cases) {
      const response = await send();
      expect({ name, status: response.status, code: response.body?.error?.code }).toEqual({ name, status, code });
      expect(JSON.stringify(response.body).length).toBeLessThan(64 * 1024);
    }
    expect(await stored()).toBe(before);
  });
});

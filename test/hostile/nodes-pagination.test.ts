/**
 * GET /v1/nodes paged (issue 9): 200,000 nodes posted through the real pipeline, paged
 * through in name order, each exactly once, with Redis work per page bounded by the page.
 */
import { startPrivateRedis, type PrivateRedis } from '../../launcher/private-redis';
import { createRedisClient, type RedisClient } from '../../shared/redis';
import { runCli } from '../support/run-cli';
import { request } from '../support/fetch-json';
import { startPipeline, type TestPipeline } from '../support/pipeline';
import { commandCounts, resetCommandStats } from '../support/redis-commands';
import { testConfig } from '../support/test-config';
import { waitUntil } from '../support/wait-until';

const NODES = 200_000;
const BATCH = 2_000;
const nodeName = (i: number) => `n-${String(i).padStart(6, '0')}`;

describe('GET /v1/nodes paged', () => {
  let redisServer: PrivateRedis;
  let admin: RedisClient;
  let pipeline: TestPipeline;
  beforeAll(async () => {
    redisServer = await startPrivateRedis();
    const config = testConfig({
      REDIS_URL: redisServer.url,
      MAX_BATCH_ITEMS: String(BATCH),
      WORKER_BATCH_SIZE: '4',
      REDIS_COMMAND_TIMEOUT_MS: '20000',
    });
    pipeline = await startPipeline(config);
    admin = createRedisClient(config, { connectionName: 'test-admin' });
    await admin.connect();
    // Shuffled, so the index (not the posting order) gives the name order.
    const order = Array.from({ length: NODES }, (_, i) => i).sort(() => Math.random() - 0.5);
    for (let start = 0; start < NODES; start += BATCH) {
      const items = order.slice(start, start + BATCH).map((i) => ({ node: nodeName(i), timeslice: 10, cpu: i % 100, mem: 1 }));
      const answer = await request(`${pipeline.url}/v1/samples`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(items),
      });
      expect(answer.status).toBe(202);
    }
    let total = 0;
    await waitUntil(async () => (total = (await request(`${pipeline.url}/v1/nodes?limit=1`)).body.total) === NODES, 240_000, 500).catch(
      (error: Error) => {
        throw new Error(`${error.message}: ${total} of ${NODES} nodes applied`);
      },
    );
  }, 300_000);
  afterAll(async () => {
    await admin?.quit();
    await pipeline?.stop();
    await redisServer?.destroy();
  });

  test('200,000 nodes paged through 1,000 at a time: each exactly once, in name order', async () => {
    let path: string | null = '/v1/nodes?limit=1000';
    let expected = 0;
    let pages = 0;
    let largest = 0;
    await resetCommandStats(admin);
    while (path !== null) {
      const page = await request(`${pipeline.url}${path}`);
      expect(page.status).toBe(200);
      expect(page.body.total).toBe(NODES);
      expect(page.body.count).toBe(page.body.nodes.length);
      for (const node of page.body.nodes) expect(node.name).toBe(nodeName(expected++));
      largest = Math.max(largest, JSON.stringify(page.body).length);
      path = page.body.next;
      pages++;
    }
    const counts = await commandCounts(admin);
    expect(expected).toBe(NODES);
    expect(pages).toBe(NODES / 1000);
    console.log(
      `${NODES} nodes in ${pages} pages of 1,000: largest page ${(largest / 1e3).toFixed(0)} kB; per page ` +
        `${(counts.zrange ?? 0) / pages} ZRANGE BYLEX, ${(counts.zlexcount ?? 0) / pages} ZLEXCOUNT, ${(counts.hmget ?? 0) / pages} HMGET`,
    );
    // Work per page: one range, one count and one read of the summaries per partition.
    // (the worker and the maintenance job run meanwhile and add a few of their own)
    expect(counts.zrange).toBeLessThan(pages * pipeline.config.streamPartitions * 1.5);
    expect(counts.hmget).toBeLessThan(pages * pipeline.config.streamPartitions * 1.5);
    expect(largest).toBeLessThan(400_000);
  }, 240_000);

  test('the first page by default holds 100; a prefix narrows the pages and the total', async () => {
    const first = await request(`${pipeline.url}/v1/nodes`);
    expect(first.body.count).toBe(100);
    expect(first.body.nodes[0].url).toBe('/v1/nodes/n-000000/');
    expect(first.body.next).toMatch(/^\/v1\/nodes\?limit=100&cursor=/);
    const prefixed = await request(`${pipeline.url}/v1/nodes?prefix=n-00012&limit=6`);
    expect(prefixed.body.total).toBe(10);
    expect(prefixed.body.nodes.map((n: { name: string }) => n.name)).toEqual([120, 121, 122, 123, 124, 125].map(nodeName));
    const rest = await request(`${pipeline.url}${prefixed.body.next}`);
    expect(rest.body.nodes.map((n: { name: string }) => n.name)).toEqual([126, 127, 128, 129].map(nodeName));
    expect(rest.body.next).toBeNull();
  });

  test.each([
    { label: 'limit=0', query: 'limit=0', code: 'INVALID_QUERY' },
    { label: 'limit=1001', query: 'limit=1001', code: 'INVALID_QUERY' },
    { label: 'limit=1.5', query: 'limit=1.5', code: 'INVALID_QUERY' },
    { label: 'a cursor that is not a node name', query: 'cursor=%7B%7D', code: 'INVALID_CURSOR' },
    { label: 'a cursor of 500 characters', query: `cursor=${'A'.repeat(500)}`, code: 'INVALID_CURSOR' },
    { label: 'a prefix with a brace', query: 'prefix=%7Bx', code: 'INVALID_QUERY' },
  ])('$label is 400 $code', async ({ query, code }) => {
    const answer = await request(`${pipeline.url}/v1/nodes?${query}`);
    expect(answer.status).toBe(400);
    expect(answer.body.error.code).toBe(code);
  });

  test('nodeagg nodes follows pages: --limit shows that many, --all streams them', async () => {
    const limited = await runCli(['--url', pipeline.url, 'nodes', '--limit', '1500', '--prefix', 'n-00']);
    expect({ code: limited.code, stderr: limited.stderr }).toEqual({ code: 0, stderr: '' });
    expect(limited.stdout.match(/^n-\d{6}\s/gm)).toHaveLength(1500);
    expect(limited.stdout).toMatch(/^1,500 of 10,000 nodes; 8,500 more/m);
    // 10 pages of 1,000, each printed as it arrives
    const all = await runCli(['--url', pipeline.url, 'nodes', '--all', '--prefix', 'n-01'], {}, 60_000);
    expect({ code: all.code, stderr: all.stderr }).toEqual({ code: 0, stderr: '' });
    const rows = [...all.stdout.matchAll(/^(n-\d{6})\s/gm)].map((m) => m[1]);
    expect(rows).toEqual(Array.from({ length: 10_000 }, (_, i) => nodeName(10_000 + i)));
    expect(all.stdout).toMatch(/^10,000 nodes$/m);
    const json = await runCli(['--url', pipeline.url, '--json', 'nodes', '--all', '--prefix', 'n-001'], {}, 60_000);
    expect({ code: json.code, stderr: json.stderr }).toEqual({ code: 0, stderr: '' });
    const names = json.stdout
      .trim()
      .split('\n')
      .map((line) => (JSON.parse(line) as { name: string }).name);
    expect(names).toEqual(Array.from({ length: 1000 }, (_, i) => nodeName(1000 + i)));
  });
});

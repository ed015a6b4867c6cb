/**
 * Per-token limits and the cardinality guard (docs/SECURITY.md): each limit answers 429
 * RATE_LIMITED with Retry-After, stores nothing of the refused request, is counted in
 * nodeagg_rate_limited_total{token,limit}, logged by token name, and lets the client through
 * again once its window resets (for MAX_NODES: once nodes expire).
 */
import { startIngest, type RunningIngest } from '../../ingest/server';
import { startWorker, type RunningWorker } from '../../worker/server';
import { allPartitionKeys } from '../../shared/store/keys';
import { partitionOf } from '../../shared/partition';
import type { Config } from '../../shared/config';
import type { RedisClient } from '../../shared/redis';
import { capturingLogger } from '../support/capturing-logger';
import { baseTime } from '../support/build-sample';
import { request, type JsonResponse } from '../support/fetch-json';
import { deletePrefix, testConfig, testRedis } from '../support/test-config';
import { bearer, testTokens } from '../support/tokens';
import { waitUntil } from '../support/wait-until';

const tokens = testTokens();

interface Harness {
  ingest: RunningIngest;
  worker?: RunningWorker;
  redis: RedisClient;
  config: Config;
  logs: string[];
  stop(): Promise<void>;
}

async function start(settings: Record<string, string>, options: { worker?: boolean; open?: boolean } = {}): Promise<Harness> {
  const config = testConfig({ STREAM_PARTITIONS: '2', ...(options.open ? {} : { API_TOKENS: tokens.apiTokens }), ...settings });
  const logs: string[] = [];
  const logger = capturingLogger(logs);
  const ingest = await startIngest(config, logger);
  const worker = options.worker ? await startWorker(config, logger) : undefined;
  const redis = testRedis(config);
  await redis.connect();
  return {
    ingest,
    worker,
    redis,
    config,
    logs,
    stop: async () => {
      await worker?.close();
      await ingest.close();
      await deletePrefix(redis, config.keyPrefix);
      await redis.quit();
    },
  };
}

const nodeItem = (node: string) => ({ node, timeslice: 10, cpu: 5, mem: 5, at: baseTime() });

function post(h: Harness, items: object[], token?: string): Promise<JsonResponse> {
  return request(`${h.ingest.url}/v1/samples`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? bearer(token) : {}) },
    body: JSON.stringify(items),
  });
}

/** Every entry ever appended (no worker runs in these tests, so nothing is trimmed). */
async function streamEntries(h: Harness): Promise<number> {
  let n = 0;
  for (const p of allPartitionKeys(h.config.keyPrefix, h.config.streamPartitions)) n += await h.redis.xlen(p.stream);
  return n;
}

async function rateLimitedCount(h: Harness, token: string, limit: string): Promise<number> {
  const text = (await request(`${h.ingest.url}/metrics`, { headers: bearer(tokens.secrets.metrics) })).body as string;
  const match = new RegExp(`nodeagg_rate_limited_total\\{token="${token}",limit="${limit}"\\} (\\d+)`).exec(text);
  return match ? Number(match[1]) : 0;
}

/** Sends `send(i)` until one is refused; asserts nothing of that one was stored. */
async function sendUntilRefused(
  h: Harness,
  send: (i: number) => Promise<JsonResponse>,
  bound = 200,
): Promise<{ refused: JsonResponse; i: number }> {
  for (let i = 0; i < bound; i++) {
    const before = await streamEntries(h);
    const answer = await send(i);
    if (answer.status === 429) {
      expect(await streamEntries(h)).toBe(before);
      return { refused: answer, i };
    }
    expect(answer.status).toBeLessThan(300);
  }
  throw new Error(`no 429 within ${bound} requests`);
}

function expectRateLimited(answer: JsonResponse, limitWords: RegExp, maxRetryAfter: number): void {
  expect(answer.status).toBe(429);
  expect(answer.body.error.code).toBe('RATE_LIMITED');
  expect(answer.body.error.message).toMatch(limitWords);
  const retryAfter = Number(answer.headers.get('retry-after'));
  expect(retryAfter).toBeGreaterThanOrEqual(1);
  expect(retryAfter).toBeLessThanOrEqual(maxRetryAfter);
}

describe('requests per second', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await start({ RATE_LIMIT_REQUESTS_PER_SECOND: '5' });
  });
  afterAll(() => h.stop());

  test('the sixth request in a second is 429 with Retry-After, stores nothing, and the limit resets', async () => {
    const { refused, i } = await sendUntilRefused(h, (i) => post(h, [nodeItem(`req-${i}`)], tokens.secrets.write));
    expectRateLimited(refused, /token "write" is over its limit of 5 requests per second/, 1);
    expect(refused.body.error.message).not.toContain(tokens.secrets.write);
    // Other tokens have their own windows.
    expect((await request(`${h.ingest.url}/v1/pipeline`, { headers: bearer(tokens.secrets.read) })).status).toBe(200);
    // The refused sample was not stored; once the window passes the same request is accepted.
    await waitUntil(async () => (await post(h, [nodeItem(`req-${i}`)], tokens.secrets.write)).status === 202, 10_000, 100);
    expect(await rateLimitedCount(h, 'write', 'requests')).toBeGreaterThanOrEqual(1);
    const warnings = h.logs.filter((l) => l.includes('rate limited: token \\"write\\" is over its requests limit'));
    expect(warnings.length).toBe(1);
    expect(JSON.parse(warnings[0]!)).toMatchObject({ level: 40, token: 'write', limit: 'requests' });
  });
});

describe('samples per second', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await start({ RATE_LIMIT_SAMPLES_PER_SECOND: '100', MAX_BATCH_ITEMS: '1000' });
  });
  afterAll(() => h.stop());

  test('a batch past 100 samples/s is 429 with Retry-After, stores nothing, and the limit resets', async () => {
    const batch = (i: number) => Array.from({ length: 40 }, (_, k) => nodeItem(`smp-${i}-${k}`));
    const { refused, i } = await sendUntilRefused(h, (i) => post(h, batch(i), tokens.secrets.write));
    expectRateLimited(refused, /token "write" is over its limit of 100 samples per second/, 1);
    await waitUntil(async () => (await post(h, batch(i), tokens.secrets.write)).status === 202, 10_000, 100);
    expect(await rateLimitedCount(h, 'write', 'samples')).toBeGreaterThanOrEqual(1);
  });

  test('a batch larger than the whole per-second allowance is 413 (it could never pass), stores nothing', async () => {
    const before = await streamEntries(h);
    const answer = await post(
      h,
      Array.from({ length: 101 }, (_, k) => nodeItem(`big-${k}`)),
      tokens.secrets.write,
    );
    expect(answer.status).toBe(413);
    expect(answer.body.error.message).toMatch(/at most 100 samples per second\. Split it\./);
    expect(await streamEntries(h)).toBe(before);
  });
});

describe('new node names per token per minute', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await start({ NEW_NODES_PER_MINUTE: '10' });
  });
  afterAll(() => h.stop());

  test('the eleventh new name in a minute is 429; known names and other tokens go on; after the minute it is accepted', async () => {
    const first = await post(
      h,
      Array.from({ length: 10 }, (_, k) => nodeItem(`new-${k}`)),
      tokens.secrets.write,
    );
    expect(first.status).toBe(202);
    const before = await streamEntries(h);
    const refused = await post(h, [nodeItem('new-10')], tokens.secrets.write);
    expectRateLimited(refused, /token "write" is over its limit of 10 new node names per minute/, 60);
    expect(await streamEntries(h)).toBe(before);
    // Samples of known nodes are not new names: they keep flowing, from this token too.
    expect((await post(h, [nodeItem('new-3'), nodeItem('new-7')], tokens.secrets.write)).status).toBe(202);
    expect((await post(h, [nodeItem('other-token-node')], tokens.secrets.all)).status).toBe(202);
    expect(await rateLimitedCount(h, 'write', 'new_nodes')).toBe(1);

    // A single request with more new names than a whole minute allows could never pass: 413.
    const tooMany = await post(
      h,
      Array.from({ length: 11 }, (_, k) => nodeItem(`many-${k}`)),
      tokens.secrets.all,
    );
    expect(tooMany.status).toBe(413);

    // The window is a minute: poll (bounded) until the refused name is accepted.
    await waitUntil(async () => (await post(h, [nodeItem('new-10')], tokens.secrets.write)).status === 202, 75_000, 2_000);
  }, 90_000);
});

describe('total nodes (MAX_NODES)', () => {
  async function fill(h: Harness, count: number, token?: string): Promise<void> {
    const posted = await post(
      h,
      Array.from({ length: count }, (_, k) => nodeItem(`fleet-${k}`)),
      token,
    );
    expect(posted.status).toBe(202);
    // Applied, then counted: the retained-nodes gauge reaches the count.
    const headers = token ? bearer(tokens.secrets.all) : {};
    expect((await request(`${h.ingest.url}/v1/nodes?after=${posted.body.token}`, { headers })).body.count).toBe(count);
    await waitUntil(async () => {
      const text = (await request(`${h.ingest.url}/metrics`, { headers: token ? bearer(tokens.secrets.metrics) : {} })).body as string;
      return new RegExp(`^nodeagg_nodes_retained ${count}$`, 'm').test(text);
    });
  }

  test('past MAX_NODES a new name is 429 (Retry-After 60) while known nodes post; room made by expiry lets it in', async () => {
    const h = await start({ MAX_NODES: '20' }, { worker: true });
    try {
      await fill(h, 20, tokens.secrets.write);
      const refused = await post(h, [nodeItem('fleet-20')], tokens.secrets.write);
      expectRateLimited(refused, /maximum of 20 nodes \(MAX_NODES\)/, 60);
      expect(refused.headers.get('retry-after')).toBe('60');
      expect((await post(h, [nodeItem('fleet-5')], tokens.secrets.write)).status).toBe(202);
      const later = await post(h, [nodeItem('fleet-6')], tokens.secrets.write);
      expect(
        (await request(`${h.ingest.url}/v1/nodes/fleet-20?after=${later.body.token}`, { headers: bearer(tokens.secrets.read) })).status,
      ).toBe(404);
      expect(await rateLimitedCount(h, 'write', 'total_nodes')).toBe(1);

      // Retention drops a node that has not posted for 25 hours; do what it does to one node.
      const gone = 'fleet-0';
      await h.redis.zrem(allPartitionKeys(h.config.keyPrefix, 2)[partitionOf(gone, 2)]!.nodes, gone);
      await waitUntil(async () => (await post(h, [nodeItem('fleet-20')], tokens.secrets.write)).status === 202, 15_000, 200);
    } finally {
      await h.stop();
    }
  });

  test('the bound holds when the service runs open, counted for "anonymous"', async () => {
    const h = await start({ MAX_NODES: '3' }, { worker: true, open: true });
    try {
      await fill(h, 3);
      const refused = await post(h, [nodeItem('fleet-3')]);
      expectRateLimited(refused, /maximum of 3 nodes/, 60);
      const text = (await request(`${h.ingest.url}/metrics`)).body as string;
      expect(text).toContain('nodeagg_rate_limited_total{token="anonymous",limit="total_nodes"} 1');
    } finally {
      await h.stop();
    }
  });
});

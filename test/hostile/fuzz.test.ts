/**
 * Fuzz suite (issue 9): 10,000 generated requests over every route the ingest app
 * registers (read from its routers, so routes added later are included): random methods,
 * paths, query strings, headers, content types, encodings and bodies, with and without
 * API tokens (valid, of each scope, unknown, malformed). Invariants:
 * - no 5xx, except 503 while Redis is down and the 504 of an ?after= wait (no worker runs);
 * - nothing stored on any 4xx: the streams grow by exactly the entries 2xx answers reported;
 * - every error answer is under 64 KB;
 * - the event loop stays responsive.
 * On a private redis-server, which a second phase stops.
 */
import fc from 'fast-check';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { gzipSync } from 'node:zlib';
import { startIngest, type RunningIngest } from '../../ingest/server';
import { allPartitionKeys } from '../../shared/store/keys';
import { startPrivateRedis, type PrivateRedis } from '../../launcher/private-redis';
import { createRedisClient, type RedisClient } from '../../shared/redis';
import { answers200 } from '../support/fetch-json';
import { waitUntil } from '../support/wait-until';
import { quietLogger, testConfig } from '../support/test-config';
import { testTokens } from '../support/tokens';

/** Per mode (open, and with tokens): 10,000 requests in all. */
const RUNS_REDIS_UP = Number(process.env.FUZZ_RUNS ?? 4500);
const RUNS_REDIS_DOWN = Math.ceil(RUNS_REDIS_UP / 9);
const ERROR_ANSWER_LIMIT = 64 * 1024;
const CONCURRENCY = Number(process.env.FUZZ_CONCURRENCY ?? 16);

interface FuzzRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: Uint8Array | undefined;
}

interface Answer {
  status: number;
  size: number;
  code: string | undefined;
  /** Stream entries a 2xx POST reported, as partition_id. */
  entryIds: string[];
}

const printable = fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 40 });
const now = Date.now();

const nameArb = fc.oneof(
  fc.constantFrom('web-1', 'db-1', 'nginx', 'java.exe', 'a b', '.', '..', '...', '%2E%2E', 'a{b}', 'x'.repeat(300), ''),
  fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,20}$/),
  fc.string({ maxLength: 30 }),
);

const segment = (name: string, raw: boolean) => (raw ? name.replace(/[/?#\s%]/g, '') || 'x' : encodeURIComponent(name));

const queryValue = fc.oneof(
  fc.constantFrom('60', '0', '-1', '1e400', 'NaN', '86401', '1000', '1001', '1.5', ''),
  fc.constantFrom('0_1-0', '3_99999999999999999999-0', '0_1-0.0_1-0', '9_1-0', `0_${now}-0`, 'garbage', 'bi0wMDAwMDE', '%7B'),
  fc.string({ maxLength: 30 }),
  fc.integer().map(String),
);
const queryArb = fc.dictionary(
  fc.oneof(fc.constantFrom('timeslice', 'after', 'limit', 'cursor', 'prefix', 'window', 'step', 'id'), printable),
  queryValue,
  { maxKeys: 4 },
);

const validNode = { timeslice: 10, cpu: 20, mem: 30 };
const validProcess = { timeslice: 10, cpu_used: 5, mem_used: 100 };
const unknownFields = JSON.stringify(Object.fromEntries(Array.from({ length: 20_000 }, (_, i) => [`f${i}`, i])));

const bodyText = fc.oneof(
  fc.constant(JSON.stringify(validNode)),
  fc.constant(JSON.stringify(validProcess)),
  fc.constant(
    JSON.stringify([
      { node: 'fz-1', ...validNode },
      { node: 'fz-1', process: 'p', ...validProcess },
    ]),
  ),
  fc.constant(`${JSON.stringify({ node: 'fz-2', ...validNode })}\n${JSON.stringify({ node: 'fz-2', process: 'q', ...validProcess })}\n`),
  fc.constant('{"timeslice":10,"cpu":1,"cpu":2,"mem":3}'),
  fc.constant(`{"at":${'['.repeat(5000)}${']'.repeat(5000)}}`),
  fc.constant(unknownFields),
  fc.constant('{"ids":["1-0"]}'),
  fc
    .record({ timeslice: fc.double(), cpu: fc.double(), mem: fc.double(), at: fc.oneof(fc.integer(), fc.string()) })
    .map((o) => JSON.stringify(o)),
  fc
    .array(fc.record({ node: nameArb, process: fc.option(nameArb, { nil: undefined }), timeslice: fc.double(), cpu: fc.double() }), {
      maxLength: 5,
    })
    .map((a) => JSON.stringify(a)),
  fc.json(),
  fc.string({ maxLength: 200 }),
);
const bodyArb = fc.oneof(
  { weight: 1, arbitrary: fc.constant(undefined) },
  { weight: 6, arbitrary: bodyText.map((t) => new Uint8Array(Buffer.from(t, 'utf8'))) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 300 }) },
);

const contentType = fc.oneof(
  fc.constantFrom(
    'application/json',
    'application/json',
    'application/x-ndjson',
    'application/json; charset=utf-8',
    'application/json; charset=latin1',
    'text/plain',
    'application/x-www-form-urlencoded',
    'multipart/form-data; boundary=x',
    'application/x-protobuf',
    'application/json; =',
  ),
  printable,
);

/** Hostile and well-formed requests, each with one of `credentials` as its Authorization header, or none. */
function requestArb(routes: readonly { path: string; methods: string[] }[], credentials: string[], writer: string | undefined) {
  return fc
    .tuple(
      fc.oneof({ weight: 6, arbitrary: hostileRequest(routes) }, { weight: 1, arbitrary: validWrite }),
      fc.option(fc.constantFrom(...credentials), { nil: undefined }),
      fc.boolean(),
    )
    .map(([req, credential, asWriter]): FuzzRequest => {
      const authorization = req.method === 'POST' && asWriter && writer !== undefined ? writer : credential;
      return authorization === undefined ? req : { ...req, headers: { ...req.headers, authorization } };
    });
}

function hostileRequest(routes: readonly { path: string; methods: string[] }[]): fc.Arbitrary<FuzzRequest> {
  const routed = fc
    .record({
      route: fc.constantFrom(...routes),
      names: fc.array(nameArb, { minLength: 3, maxLength: 3 }),
      raw: fc.boolean(),
      slash: fc.boolean(),
    })
    .chain(({ route, names, raw, slash }) => {
      let i = 0;
      const path = route.path.replace(/:[A-Za-z]+/g, () => segment(names[i++]!, raw)) + (slash && !route.path.endsWith('/') ? '/' : '');
      return fc.record({
        path: fc.constant(path),
        method: fc.oneof(fc.constantFrom(...route.methods), fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH')),
      });
    });
  const unrouted = fc.record({
    path: fc.oneof(
      fc.webPath(),
      printable.map((p) => `/v1/${encodeURIComponent(p)}`),
    ),
    method: fc.constantFrom('GET', 'POST', 'DELETE', 'OPTIONS'),
  });
  return fc
    .record({
      target: fc.oneof({ weight: 5, arbitrary: routed }, { weight: 1, arbitrary: unrouted }),
      query: queryArb,
      type: fc.option(contentType, { nil: undefined }),
      encoding: fc.option(fc.constantFrom('gzip', 'x-gzip', 'identity', 'br', 'gzip-but-not'), { nil: undefined }),
      extra: fc.dictionary(fc.constantFrom('idempotency-key', 'accept', 'x-forwarded-for', 'accept-encoding'), printable, {
        maxKeys: 2,
      }),
      body: bodyArb,
    })
    .map(({ target, query, type, encoding, extra, body }) => {
      const qs = new URLSearchParams(query).toString();
      const headers: Record<string, string> = { ...extra };
      if (type !== undefined) headers['content-type'] = type;
      let payload = body;
      if (encoding !== undefined) {
        headers['content-encoding'] = encoding === 'gzip-but-not' ? 'gzip' : encoding;
        if (payload && (encoding === 'gzip' || encoding === 'x-gzip')) payload = new Uint8Array(gzipSync(payload));
      }
      const method = target.method;
      return {
        method,
        path: `${target.path}${qs ? `?${qs}` : ''}`,
        headers,
        body: method === 'GET' || method === 'HEAD' || method === 'OPTIONS' ? undefined : payload,
      };
    });
}

/** Well-formed writes, so the runs also store (and the "nothing stored on 4xx" check has something to tell apart). */
const validWrite: fc.Arbitrary<FuzzRequest> = fc
  .record({
    node: fc.stringMatching(/^fz-[a-z0-9]{1,6}$/),
    kind: fc.constantFrom('node', 'process', 'batch', 'ndjson'),
    key: fc.option(fc.constantFrom('k1', 'k2', 'k3'), { nil: undefined }),
  })
  .map(({ node, kind, key }) => {
    const headers: Record<string, string> = { 'content-type': kind === 'ndjson' ? 'application/x-ndjson' : 'application/json' };
    if (key !== undefined) headers['idempotency-key'] = `${key}-${kind}-${node}`;
    const items = [
      { node, ...validNode },
      { node, process: 'p', ...validProcess },
    ];
    const [path, text] =
      kind === 'node'
        ? [`/v1/metrics/node/${node}`, JSON.stringify(validNode)]
        : kind === 'process'
          ? [`/v1/metrics/nodes/${node}/process/p`, JSON.stringify(validProcess)]
          : ['/v1/samples', kind === 'batch' ? JSON.stringify(items) : items.map((i) => JSON.stringify(i)).join('\n')];
    return { method: 'POST', path, headers, body: new Uint8Array(Buffer.from(text)) };
  });

async function send(baseUrl: string, req: FuzzRequest): Promise<Answer> {
  const response = await fetch(`${baseUrl}${req.path}`, { method: req.method, headers: req.headers, body: req.body });
  const text = await response.text();
  let parsed: { error?: { code?: string }; token?: string } = {};
  try {
    parsed = JSON.parse(text) as typeof parsed;
  } catch {
    // not JSON (HEAD, /metrics)
  }
  // The token names each entry as partition_id (ids alone repeat across partitions).
  const entryIds = response.status < 300 && req.method === 'POST' && parsed.token ? parsed.token.split('.') : [];
  return { status: response.status, size: Buffer.byteLength(text), code: parsed.error?.code, entryIds };
}

const tokens = testTokens();
const junkCredentials = ['Bearer ', 'Bearer wrong-token', 'Basic YTpi', `Bearer ${tokens.secrets.all}x`, 'bearer  spaced'];
const modes = [
  { mode: 'open (no tokens configured)', env: {} as Record<string, string>, credentials: junkCredentials, writer: undefined },
  {
    mode: 'with tokens',
    env: { API_TOKENS: tokens.apiTokens },
    credentials: [...junkCredentials, ...Object.values(tokens.secrets).map((t) => `Bearer ${t}`)],
    writer: `Bearer ${tokens.secrets.write}`,
  },
];

describe.each(modes)('fuzz: every route, hostile requests, $mode', ({ env, credentials, writer }) => {
  let redisServer: PrivateRedis;
  let admin: RedisClient;
  let ingest: RunningIngest;
  let streams: string[];

  beforeAll(async () => {
    redisServer = await startPrivateRedis();
    const config = testConfig({
      REDIS_URL: redisServer.url,
      CONSISTENCY_WAIT_MS: '20',
      // Long enough that a busy machine does not pass for an unavailable Redis (503) while it runs.
      REDIS_COMMAND_TIMEOUT_MS: '5000',
      MAX_BODY_BYTES: '1048576',
      BODY_TIMEOUT_MS: '1000',
      ...env,
    });
    ingest = await startIngest(config, quietLogger);
    admin = createRedisClient(config, { connectionName: 'fuzz-admin' });
    await admin.connect();
    streams = allPartitionKeys(config.keyPrefix, config.streamPartitions).map((p) => p.stream);
  });
  afterAll(async () => {
    await ingest.close();
    await admin.quit();
    await redisServer.destroy();
  });

  async function streamLength(): Promise<number> {
    const lengths = await Promise.all(streams.map((s) => admin.xlen(s)));
    return lengths.reduce((a, b) => a + b, 0);
  }

  test('the routes come from the app’s routers', () => {
    const paths = ingest.routes.map((r) => r.path);
    expect(paths).toEqual(
      expect.arrayContaining(['/v1/metrics/node/:nodename', '/v1/samples', '/v1/nodes', '/v1/nodes/:nodename', '/metrics']),
    );
    expect(paths.length).toBeGreaterThanOrEqual(15);
  });

  const slowest = { ms: 0, req: '', status: 0 };
  const describeRequest = (req: FuzzRequest) =>
    JSON.stringify({ ...req, body: req.body && Buffer.from(req.body).toString('utf8').slice(0, 200) });

  /** Sends the requests CONCURRENCY at a time; checks each answer as it comes. */
  async function run(requests: FuzzRequest[], check: (req: FuzzRequest, answer: Answer) => void, redisUp = true): Promise<void> {
    let next = 0;
    const lane = async () => {
      while (next < requests.length) {
        const req = requests[next++]!;
        const sentAt = Date.now();
        const oneByOne = redisUp && process.env.FUZZ_CONCURRENCY === '1';
        const lengthBefore = oneByOne ? await streamLength() : 0;
        const answer = await send(ingest.url, req);
        if (oneByOne && answer.status >= 300 && (await streamLength()) !== lengthBefore) {
          throw new Error(`stored on ${answer.status}: ${describeRequest(req)}`);
        }
        const tookMs = Date.now() - sentAt;
        if (tookMs > slowest.ms) Object.assign(slowest, { ms: tookMs, req: describeRequest(req), status: answer.status });
        try {
          check(req, answer);
        } catch (error) {
          throw new Error(
            `${(error as Error).message}\nrequest: ${JSON.stringify({ ...req, body: req.body && Buffer.from(req.body).toString('utf8').slice(0, 300) })}`,
          );
        }
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, lane));
  }

  test(`${RUNS_REDIS_UP} requests with Redis up, then ${RUNS_REDIS_DOWN} with Redis stopped`, async () => {
    const seed = Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31);
    const arb = requestArb(ingest.routes, credentials, writer);
    const statuses: Record<number, number> = {};
    const entriesReported = new Set<string>();
    const lengthBefore = await streamLength();
    const delay = monitorEventLoopDelay({ resolution: 10 });
    delay.enable();
    const started = Date.now();
    await run(fc.sample(arb, { numRuns: RUNS_REDIS_UP, seed }), (req, answer) => {
      statuses[answer.status] = (statuses[answer.status] ?? 0) + 1;
      const waitedOnAfter =
        answer.status === 504 && (answer.code === 'CONSISTENCY_TIMEOUT' || (req.method === 'HEAD' && req.path.includes('after=')));
      if (answer.status >= 500 && !waitedOnAfter) throw new Error(`answered ${answer.status} ${answer.code}`);
      if (answer.status >= 400 && answer.size >= ERROR_ANSWER_LIMIT) throw new Error(`error answer of ${answer.size} bytes`);
      for (const id of answer.entryIds) entriesReported.add(id);
    });
    const upMs = Date.now() - started;
    // Nothing stored on any 4xx: the streams grew by exactly the entries the 2xx answers reported.
    expect(entriesReported.size).toBeGreaterThan(0);
    expect(await streamLength()).toBe(lengthBefore + entriesReported.size);

    await redisServer.stop('SIGKILL');
    try {
      await run(
        fc.sample(arb, { numRuns: RUNS_REDIS_DOWN, seed: seed + 1 }),
        (_req, answer) => {
          statuses[answer.status] = (statuses[answer.status] ?? 0) + 1;
          if (answer.status >= 500 && answer.status !== 503) throw new Error(`answered ${answer.status} ${answer.code} with Redis down`);
          if (answer.status >= 400 && answer.size >= ERROR_ANSWER_LIMIT) throw new Error(`error answer of ${answer.size} bytes`);
        },
        false,
      );
    } finally {
      await redisServer.restart();
    }
    // Ingest serves again once Redis is back (and its connections are settled before the teardown closes them).
    await waitUntil(() => answers200(`${ingest.url}/readyz`), 30_000, 50);
    delay.disable();
    console.log(
      `fuzz (seed ${seed}): ${RUNS_REDIS_UP + RUNS_REDIS_DOWN} requests in ${((Date.now() - started) / 1000).toFixed(1)} s ` +
        `(${(upMs / 1000).toFixed(1)} s with Redis up), ${entriesReported.size} stream entries from 2xx answers; statuses ${JSON.stringify(statuses)}; ` +
        `event-loop delay max ${(delay.max / 1e6).toFixed(0)} ms, p99 ${(delay.percentile(99) / 1e6).toFixed(0)} ms; ` +
        `slowest answer ${slowest.ms} ms (${slowest.status}): ${slowest.req}`,
    );
    // Every body is sent whole at once: a 408 means a connection stalled behind an earlier request.
    expect(statuses[408] ?? 0).toBe(0);
    // Generous: the event loop never stalls for long (the test and ingest share it).
    expect(delay.max / 1e6).toBeLessThan(2000);
  }, 180_000);
});

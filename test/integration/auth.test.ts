/**
 * Tokens with scopes (docs/SECURITY.md): every route of the ingest app answers 401 without a token
 * unless it is on the open list, 403 with a token lacking its scope; the anonymous dead-letter purge,
 * listing and replay of the security review are refused and change nothing; logs never hold a token.
 */
import type Router from '@koa/router';
import { ENTRY_FIELD } from '../../shared/store/entry-codec';
import { partitionKeys } from '../../shared/store/keys';
import type { RedisClient } from '../../shared/redis';
import { startIngest, type RunningIngest } from '../../ingest/server';
import { startWorker, type RunningWorker } from '../../worker/server';
import { SCOPES, type Scope } from '../../shared/auth/scopes';
import { capturingLogger } from '../support/capturing-logger';
import { request } from '../support/fetch-json';
import { deletePrefix, testConfig, testRedis } from '../support/test-config';
import { bearer, testTokens } from '../support/tokens';
import { waitUntil } from '../support/wait-until';
import { baseTime } from '../support/build-sample';

/** Routes anyone may call: the probes and the fleet page's static files. Every other route must answer 401 without a token. */
const isOpen = (key: string) => ['GET /health', 'GET /livez', 'GET /readyz', 'GET /'].includes(key) || key.startsWith('GET /ui/');
/** The scope each route of docs/SECURITY.md's table needs; a route not listed must still be passed by exactly one scope. */
const SCOPE_OF: Record<string, Scope> = {
  'POST /v1/metrics/node/:nodename': 'write',
  'POST /v1/metrics/nodes/:nodename/process/:processname': 'write',
  'POST /v1/metrics/node/:nodename/process/:processname': 'write',
  'POST /v1/samples': 'write',
  'POST /otlp/v1/metrics': 'write',
  'POST /collectd': 'write',
  'GET /v1/analytics/nodes/average': 'read',
  'GET /v1/analytics/processes': 'read',
  'GET /v1/analytics/processes/:processname': 'read',
  'GET /v1/nodes': 'read',
  'GET /v1/nodes/:nodename': 'read',
  'GET /v1/nodes/:nodename/series': 'read',
  'GET /v1/pipeline': 'read',
  'GET /v1/admin/dead-letters': 'read',
  'POST /v1/admin/dead-letters/replay': 'admin',
  'DELETE /v1/admin/dead-letters': 'admin',
  'GET /metrics': 'metrics',
};

interface Route {
  method: string;
  path: string;
}

/** Every method and path registered on the app's routers (HEAD comes with GET). */
function routesOf(app: RunningIngest['app']): Route[] {
  const routes: Route[] = [];
  for (const middleware of app.middleware) {
    const router = (middleware as { router?: Router }).router;
    if (!router) continue;
    for (const layer of router.stack) {
      for (const method of layer.methods) if (method !== 'HEAD') routes.push({ method, path: String(layer.path) });
    }
  }
  return routes;
}

const concrete = (path: string) => path.replace(':nodename', 'walk-node').replace(':processname', 'nginx');

describe('tokens and scopes', () => {
  const tokens = testTokens();
  const logLines: string[] = [];
  const logger = capturingLogger(logLines, 'debug');
  const config = testConfig({
    API_TOKENS: tokens.apiTokens,
    STREAM_PARTITIONS: '2',
    DEAD_LETTER_AFTER_DELIVERIES: '1',
    CONSISTENCY_WAIT_MS: '300',
    WORKER_CLAIM_IDLE_MS: '100',
    WORKER_CLAIM_INTERVAL_MS: '50',
  });
  let ingest: RunningIngest;
  let worker: RunningWorker;
  let redis: RedisClient;
  const call = (method: string, path: string, token?: string, body?: unknown) =>
    request(`${ingest.url}${path}`, {
      method,
      headers: { ...(token ? bearer(token) : {}), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });

  beforeAll(async () => {
    ingest = await startIngest(config, logger);
    worker = await startWorker(config, logger);
    redis = testRedis(config);
    await redis.connect();
  });
  afterAll(async () => {
    await worker.close();
    await ingest.close();
    await deletePrefix(redis, config.keyPrefix);
    await redis.quit();
  });

  test('every registered route answers 401 without a token, except the open list', async () => {
    const routes = routesOf(ingest.app);
    const keys = routes.map((r) => `${r.method} ${r.path}`);
    // The walk sees every route of the table (it reads the routers, not a list of its own).
    expect(keys).toEqual(expect.arrayContaining([...Object.keys(SCOPE_OF), 'GET /health', 'GET /livez', 'GET /readyz']));
    for (const route of routes) {
      const key = `${route.method} ${route.path}`;
      const answer = await call(route.method, concrete(route.path));
      if (isOpen(key)) {
        expect({ key, status: answer.status }).not.toEqual({ key, status: 401 });
        continue;
      }
      expect({ key, status: answer.status }).toEqual({ key, status: 401 });
      expect(answer.body.error.code).toBe('UNAUTHENTICATED');
      expect(answer.headers.get('www-authenticate')).toMatch(/^Bearer/);
    }
  });

  test('on every protected route a token without its scope gets 403, and exactly one scope gets past the check', async () => {
    for (const route of routesOf(ingest.app)) {
      const key = `${route.method} ${route.path}`;
      if (isOpen(key)) continue;
      const passing: Scope[] = [];
      for (const scope of SCOPES) {
        const answer = await call(route.method, concrete(route.path), tokens.secrets[scope]);
        if (![401, 403].includes(answer.status)) passing.push(scope);
        else
          expect({ key, scope, status: answer.status, code: answer.body?.error?.code }).toEqual({
            key,
            scope,
            status: 403,
            code: 'FORBIDDEN',
          });
      }
      // The documented scope where docs/SECURITY.md's table lists the route.
      expect({ key, passing }).toEqual({ key, passing: SCOPE_OF[key] ? [SCOPE_OF[key]] : [expect.any(String)] });
    }
  });

  test('the scope is checked before a read-after-write wait: an anonymous ?after= is refused at once', async () => {
    const future = '0_9999999999999-0';
    // With the read scope, the query waits for that position and gives up: 504.
    expect((await call('GET', `/v1/nodes?after=${future}`, tokens.secrets.read)).status).toBe(504);
    for (const path of [`/v1/nodes?after=${future}`, `/v1/analytics/nodes/average?after=${future}`]) {
      expect((await call('GET', path)).status).toBe(401);
      expect((await call('GET', path, tokens.secrets.write)).status).toBe(403);
    }
  });

  test('an unknown token is 401 with an invalid_token challenge; a malformed header is 401 too', async () => {
    const unknown = await call('GET', '/v1/pipeline', 'not-a-configured-token');
    expect(unknown.status).toBe(401);
    expect(unknown.headers.get('www-authenticate')).toBe('Bearer error="invalid_token"');
    const basic = await request(`${ingest.url}/v1/pipeline`, { headers: { authorization: `Basic ${tokens.secrets.read}` } });
    expect(basic.status).toBe(401);
    expect(basic.headers.get('www-authenticate')).toBe('Bearer');
    const lower = await request(`${ingest.url}/v1/pipeline`, { headers: { authorization: `bearer ${tokens.secrets.read}` } });
    expect(lower.status).toBe(200);
  });

  test('a sample posted with the write token is stored; one posted without a token is not', async () => {
    const at = baseTime();
    const refused = await call('POST', '/v1/metrics/node/anon-writer', undefined, { timeslice: 10, cpu: 1, mem: 1, at });
    expect(refused.status).toBe(401);
    const accepted = await call('POST', '/v1/metrics/node/token-writer', tokens.secrets.write, { timeslice: 10, cpu: 1, mem: 1, at });
    expect(accepted.status).toBe(202);
    const nodes = await call('GET', `/v1/nodes?after=${accepted.body.token}`, tokens.secrets.read);
    const names = (nodes.body.nodes as { name: string }[]).map((n) => n.name);
    expect(names).toContain('token-writer');
    expect(names).not.toContain('anon-writer');
  });

  test('the anonymous purge, listing and replay of a real dead letter are refused and change nothing', async () => {
    const stream = partitionKeys(config.keyPrefix, 0, config.streamPartitions).stream;
    await redis.xadd(stream, '*', ENTRY_FIELD, 'N\tbroken\tnot-a-number');
    const count = async () => (await call('GET', '/v1/admin/dead-letters', tokens.secrets.read)).body.count as number;
    await waitUntil(async () => (await count()) === 1);
    const lengthBefore = await redis.xlen(stream);

    const purge = await call('DELETE', '/v1/admin/dead-letters');
    expect(purge.status).toBe(401);
    expect(purge.body.error.code).toBe('UNAUTHENTICATED');
    expect(purge.headers.get('www-authenticate')).toBe('Bearer');
    expect(await count()).toBe(1);

    const list = await call('GET', '/v1/admin/dead-letters');
    expect(list.status).toBe(401);
    expect(JSON.stringify(list.body)).not.toContain('broken');

    const replay = await call('POST', '/v1/admin/dead-letters/replay');
    expect(replay.status).toBe(401);
    expect(await redis.xlen(stream)).toBe(lengthBefore);
    expect(await count()).toBe(1);

    // Read and write tokens may not purge or replay either.
    for (const scope of ['read', 'write', 'metrics'] as const) {
      expect((await call('DELETE', '/v1/admin/dead-letters', tokens.secrets[scope])).status).toBe(403);
      expect((await call('POST', '/v1/admin/dead-letters/replay', tokens.secrets[scope])).status).toBe(403);
    }
    expect(await count()).toBe(1);
    expect(await redis.xlen(stream)).toBe(lengthBefore);

    const purged = await call('DELETE', '/v1/admin/dead-letters', tokens.secrets.admin);
    expect(purged.body).toEqual({ purged: 1 });
    expect(await count()).toBe(0);
  });

  test("/metrics needs the metrics scope on ingest and on the worker's health server; the probes stay open", async () => {
    expect((await request(`${ingest.url}/metrics`)).status).toBe(401);
    expect((await call('GET', '/metrics', tokens.secrets.read)).status).toBe(403);
    expect((await call('GET', '/metrics', 'no-such-token')).status).toBe(401);
    const scraped = await request(`${ingest.url}/metrics`, { headers: bearer(tokens.secrets.metrics) });
    expect(scraped.status).toBe(200);
    expect(scraped.body).toMatch(/nodeagg_auth_rejected_total\{reason="missing"\} [1-9]/);
    expect(scraped.body).toMatch(/nodeagg_auth_rejected_total\{reason="unknown"\} [1-9]/);
    expect(scraped.body).toMatch(/nodeagg_auth_rejected_total\{reason="scope"\} [1-9]/);

    const workerMetrics = await request(`${worker.healthUrl}/metrics`);
    expect(workerMetrics.status).toBe(401);
    expect(workerMetrics.body.error.code).toBe('UNAUTHENTICATED');
    expect(workerMetrics.headers.get('www-authenticate')).toBe('Bearer');
    expect((await request(`${worker.healthUrl}/metrics`, { headers: bearer(tokens.secrets.write) })).status).toBe(403);
    expect((await request(`${worker.healthUrl}/metrics`, { headers: bearer(tokens.secrets.metrics) })).status).toBe(200);
    for (const probe of ['/livez', '/readyz', '/health']) {
      expect((await request(`${worker.healthUrl}${probe}`)).status).toBe(200);
      expect((await request(`${ingest.url}${probe}`)).status).toBe(200);
    }
  });

  test('the logs name tokens by name and never hold a token', async () => {
    const text = logLines.join('');
    expect(text).toMatch(/request rejected: authentication/);
    for (const secret of Object.values(tokens.secrets)) expect(text).not.toContain(secret);
  });
});

/**
 * The fleet page's file route: only the files of the UI folder, by exact name, with their
 * types, a strict policy and revalidation; every other path is a small JSON 404. Also the
 * fleet series route behind the page's chart.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { UI_DIR } from '../../ingest/routes/ui';
import { postJson, request } from '../support/fetch-json';
import { startPipeline, type TestPipeline } from '../support/pipeline';
import { testConfig } from '../support/test-config';

/** A GET with the path sent exactly as written (fetch would normalise "../"). */
function rawGet(url: string, path: string): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: hostname, port, path, method: 'GET' }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('fleet page files', () => {
  let pipeline: TestPipeline;
  beforeAll(async () => {
    pipeline = await startPipeline(testConfig({ STREAM_PARTITIONS: '2' }));
  });
  afterAll(async () => {
    await pipeline.stop();
  });

  test.each([
    ['/', 'text/html; charset=utf-8'],
    ['/ui/', 'text/html; charset=utf-8'],
    ['/ui/index.html', 'text/html; charset=utf-8'],
    ['/ui/app.js', 'text/javascript; charset=utf-8'],
    ['/ui/views/nodes.js', 'text/javascript; charset=utf-8'],
    ['/ui/style.css', 'text/css; charset=utf-8'],
    ['/ui/favicon.svg', 'image/svg+xml'],
    ['/ui/vendor/uPlot.iife.min.js', 'text/javascript; charset=utf-8'],
    ['/ui/vendor/uPlot.min.css', 'text/css; charset=utf-8'],
  ])('GET %s answers its file as %s with the security headers', async (path, type) => {
    const answer = await fetch(`${pipeline.url}${path}`);
    expect(answer.status).toBe(200);
    expect(answer.headers.get('content-type')).toBe(type);
    expect(answer.headers.get('x-content-type-options')).toBe('nosniff');
    expect(answer.headers.get('content-security-policy')).toBe(
      "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    );
    expect(answer.headers.get('cache-control')).toBe('no-cache');
    expect(answer.headers.get('etag')).toMatch(/^"[A-Za-z0-9_-]+"$/);
    const file = path.startsWith('/ui/') && path !== '/ui/' ? path.slice(4) : 'index.html';
    expect(Buffer.from(await answer.arrayBuffer()).equals(readFileSync(join(UI_DIR, file)))).toBe(true);
  });

  test('an unchanged file revalidates with 304 and no body', async () => {
    const first = await fetch(`${pipeline.url}/ui/app.js`);
    const again = await fetch(`${pipeline.url}/ui/app.js`, { headers: { 'If-None-Match': first.headers.get('etag')! } });
    expect(again.status).toBe(304);
    expect(await again.text()).toBe('');
    const changed = await fetch(`${pipeline.url}/ui/app.js`, { headers: { 'If-None-Match': '"something-else"' } });
    expect(changed.status).toBe(200);
  });

  test('gzip is sent only to clients that accept it, and decodes to the file', async () => {
    const zipped = await rawGetWith(pipeline.url, '/ui/vendor/uPlot.iife.min.js', { 'Accept-Encoding': 'gzip' });
    expect(zipped.headers['content-encoding']).toBe('gzip');
    expect(zipped.headers.vary).toMatch(/Accept-Encoding/);
    const original = readFileSync(join(UI_DIR, 'vendor', 'uPlot.iife.min.js'));
    expect(gunzipSync(zipped.body).equals(original)).toBe(true);
    expect(zipped.body.length).toBeLessThan(original.length / 2);
    const plain = await rawGetWith(pipeline.url, '/ui/vendor/uPlot.iife.min.js', {});
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(plain.body.equals(original)).toBe(true);
  });

  test('HEAD answers the headers without a body', async () => {
    const answer = await fetch(`${pipeline.url}/ui/style.css`, { method: 'HEAD' });
    expect(answer.status).toBe(200);
    expect(answer.headers.get('content-type')).toBe('text/css; charset=utf-8');
    expect(await answer.text()).toBe('');
  });

  test.each([
    '/ui/../package.json',
    '/ui/..%2fpackage.json',
    '/ui/%2e%2e/%2e%2e/package.json',
    '/ui/vendor/../../../package.json',
    '/ui//etc/passwd',
    '/ui/%2Fetc%2Fpasswd',
    '/ui/routes/ui.ts',
    '/ui/missing.js',
    '/ui/app.js%00.html',
    '/ui/.gitignore',
    '/index.html',
    '/app.js',
  ])('%s is a small JSON 404 that reveals no file', async (path) => {
    const answer = await rawGet(pipeline.url, path);
    expect(answer.status).toBe(404);
    expect(answer.headers['content-type']).toMatch(/^application\/json/);
    expect(JSON.parse(answer.body).error.code).toBe('NOT_FOUND');
    expect(answer.body).not.toContain('"dependencies"');
    expect(answer.body.length).toBeLessThan(300);
  });

  test('only GET and HEAD: POST / is 405 with Allow', async () => {
    const answer = await request(`${pipeline.url}/ui/app.js`, { method: 'POST' });
    expect(answer.status).toBe(405);
    expect(answer.headers.get('allow')).toMatch(/GET/);
    expect(answer.body.error.code).toBe('METHOD_NOT_ALLOWED');
  });

  test('the build shipped the same files into dist/', () => {
    const list = (dir: string): string[] =>
      readdirSync(dir, { withFileTypes: true })
        .flatMap((e) => (e.isDirectory() ? list(join(dir, e.name)).map((f) => `${e.name}/${f}`) : [e.name]))
        .sort();
    const shipped = join(__dirname, '..', '..', 'dist', 'ingest', 'ui');
    expect(list(shipped)).toEqual(list(UI_DIR));
    for (const file of list(UI_DIR)) expect(readFileSync(join(shipped, file)).equals(readFileSync(join(UI_DIR, file)))).toBe(true);
  });

  test('JSON answers carry nosniff too, errors and HEAD answers as well', async () => {
    for (const [method, path, status] of [
      ['GET', '/v1/pipeline', 200],
      ['HEAD', '/v1/pipeline', 200],
      ['GET', '/v1/no-such-route', 404],
      ['DELETE', '/v1/pipeline', 405],
    ] as const) {
      const answer = await fetch(`${pipeline.url}${path}`, { method });
      expect([method, path, answer.status]).toEqual([method, path, status]);
      expect(answer.headers.get('x-content-type-options')).toBe('nosniff');
    }
  });

  test("a POST's answer, which goes back to its sender and which no page loads, goes without it", async () => {
    const accepted = await fetch(`${pipeline.url}/v1/metrics/node/nosniff-probe`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ timeslice: 10, cpu: 1, mem: 1 }),
    });
    expect(accepted.status).toBe(202);
    expect(accepted.headers.get('x-content-type-options')).toBeNull();
  });
});

describe('GET /v1/analytics/nodes/series', () => {
  let pipeline: TestPipeline;
  beforeAll(async () => {
    pipeline = await startPipeline(testConfig({ STREAM_PARTITIONS: '3' }));
  });
  afterAll(async () => {
    await pipeline.stop();
  });

  test('an empty fleet has no points', async () => {
    const answer = await request(`${pipeline.url}/v1/analytics/nodes/series?window=600&step=60`);
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({ window: 600, step: 60, points: [] });
  });

  test('per-minute and per-second points are the time-weighted fleet means of their samples', async () => {
    const minute = Math.floor(Date.now() / 60_000) * 60_000 - 10 * 60_000;
    // Minute m: nodes a, b, c (three partitions) report; a with timeslice 30, the others 10.
    const items = [];
    for (let m = 0; m < 5; m++) {
      const at = minute + m * 60_000 + 15_000;
      items.push({ node: 'a', at, timeslice: 30, cpu: 10 * m, mem: 50 });
      items.push({ node: 'b', at, timeslice: 10, cpu: 90, mem: 20 });
      items.push({ node: 'c', at: at + 1000, timeslice: 10, cpu: 30, mem: 20 });
    }
    const posted = await postJson(`${pipeline.url}/v1/samples`, items);
    const answer = await request(`${pipeline.url}/v1/analytics/nodes/series?window=300&step=60&after=${posted.body.token}`);
    expect(answer.status).toBe(200);
    expect(answer.body.step).toBe(60);
    expect(answer.body.points).toHaveLength(5);
    answer.body.points.forEach((p: { t: string; cpu: number; mem: number; samples: number }, m: number) => {
      expect(p.t).toBe(new Date(minute + m * 60_000).toISOString());
      expect(p.samples).toBe(3);
      expect(p.cpu).toBeCloseTo((10 * m * 30 + 90 * 10 + 30 * 10) / 50, 10);
      expect(p.mem).toBeCloseTo((50 * 30 + 20 * 10 + 20 * 10) / 50, 10);
    });
    // One-second steps read the fine buckets: the last point is c's last sample alone.
    const fine = await request(`${pipeline.url}/v1/analytics/nodes/series?window=2&step=1`);
    expect(fine.body.step).toBe(1);
    expect(fine.body.points).toEqual([
      { t: new Date(minute + 4 * 60_000 + 15_000).toISOString(), cpu: (40 * 30 + 90 * 10) / 40, mem: (50 * 30 + 20 * 10) / 40, samples: 2 },
      { t: new Date(minute + 4 * 60_000 + 16_000).toISOString(), cpu: 30, mem: 20, samples: 1 },
    ]);
  });

  test.each(['window=0', 'window=3601', 'window=abc', 'step=0', 'window=60&step=61', 'step=-1'])(
    '%s is a 400 naming the parameter',
    async (query) => {
      const answer = await request(`${pipeline.url}/v1/analytics/nodes/series?${query}`);
      expect(answer.status).toBe(400);
      expect(answer.body.error.code).toBe('INVALID_QUERY');
      expect(answer.body.error.details[0].field).toBe(query.includes('step') ? 'step' : 'window');
    },
  );
});

function rawGetWith(
  url: string,
  path: string,
  headers: Record<string, string>,
): Promise<{ headers: Record<string, unknown>; body: Buffer }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: hostname, port, path, method: 'GET', headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}

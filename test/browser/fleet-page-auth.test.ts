/**
 * With tokens configured (API_TOKENS, see README "Configuration"), the page asks for a
 * token with the read scope, keeps it for the tab only and sends it as a Bearer header;
 * the token never appears in a URL. The page's own files stay open.
 */
import { createHash, randomBytes } from 'node:crypto';
import { startIngest, type RunningIngest } from '../../ingest/server';
import { loadConfig } from '../../shared/config';
import { startWorker } from '../../worker/server';
import { postJson, request } from '../support/fetch-json';
import { deletePrefix, quietLogger, testEnv, testRedis } from '../support/test-config';
import { openBrowser, type BrowserSession } from '../support/chromium';

const sha256 = (token: string) => createHash('sha256').update(token).digest('hex');

describe('fleet page with tokens on', () => {
  const readToken = randomBytes(24).toString('base64url');
  const writeToken = randomBytes(24).toString('base64url');
  const env = testEnv({
    STREAM_PARTITIONS: '2',
    API_TOKENS: [`page-reader read ${sha256(readToken)}`, `test-writer write ${sha256(writeToken)}`].join('\n'),
  });
  const config = loadConfig(env);
  let ingest: RunningIngest;
  let worker: { close(): Promise<void> };
  let browser: BrowserSession;
  const authorizations: string[] = [];

  beforeAll(async () => {
    ingest = await startIngest(config, quietLogger);
    worker = await startWorker(config, quietLogger);
    browser = await openBrowser();
    browser.page.on('request', (r) => {
      const value = r.headers().authorization;
      if (value) authorizations.push(value);
    });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await worker?.close();
    await ingest?.close();
    const redis = testRedis(config);
    await redis.connect();
    await deletePrefix(redis, config.keyPrefix);
    await redis.quit();
  });

  test('the API asks for a token, the page files do not', async () => {
    const api = await request(`${ingest.url}/v1/pipeline`);
    if (api.status !== 401) {
      throw new Error(`GET /v1/pipeline without a token answered ${api.status}, not 401: this build does not enforce API_TOKENS yet.`);
    }
    expect(api.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect((await fetch(`${ingest.url}/`)).status).toBe(200);
    expect((await fetch(`${ingest.url}/ui/app.js`)).status).toBe(200);
  });

  test('the page asks for a token, refuses a wrong one, and works with a read token', async () => {
    const posted = await postJson(`${ingest.url}/v1/samples`, [{ node: 'db-1', timeslice: 10, cpu: 25, mem: 75 }], {
      Authorization: `Bearer ${writeToken}`,
    });
    expect(posted.status).toBe(202);
    await request(`${ingest.url}/v1/pipeline?after=${posted.body.token}`, { headers: { Authorization: `Bearer ${readToken}` } });

    const { page } = browser;
    await page.goto(`${ingest.url}/`);
    await page.waitForSelector('#token-dialog[open]');
    await browser.screenshot('token-dialog');

    await page.fill('#token-input', 'not-a-token');
    await page.press('#token-input', 'Enter');
    await page.waitForSelector('#token-problem:visible');
    expect(await page.textContent('#token-problem')).toContain('not accepted');

    // A write-only token lacks the read scope.
    await page.fill('#token-input', writeToken);
    await page.press('#token-input', 'Enter');
    await page.waitForSelector('#token-problem:text("lacks the read scope")');

    await page.fill('#token-input', readToken);
    await page.press('#token-input', 'Enter');
    await page.waitForSelector('#fleet-cpu dd[data-value="25"]');
    expect(await page.isVisible('#token-dialog')).toBe(false);
    expect(await page.evaluate("sessionStorage.getItem('nodeagg.token')")).toBe(readToken);
    expect(authorizations).toContain(`Bearer ${readToken}`);

    // Kept for the tab: a reload does not ask again.
    await page.reload();
    await page.waitForSelector('#fleet-cpu dd[data-value="25"]');
    expect(await page.isVisible('#token-dialog')).toBe(false);
    await page.goto(`${ingest.url}/#/nodes/db-1`);
    await page.waitForSelector('table.data tbody tr[data-key="1 min"]');

    for (const url of browser.requests) {
      expect(url).not.toContain(readToken);
      expect(url).not.toContain(writeToken);
      expect(new URL(url).hostname).toBe('127.0.0.1');
    }
    expect(browser.foreignRequests).toEqual([]);
    // Console errors are only the browser's notes about the 401/403 answers before the token.
    expect(browser.consoleErrors.filter((e) => !/status of 40[13]/.test(e))).toEqual([]);
  }, 90_000);
});

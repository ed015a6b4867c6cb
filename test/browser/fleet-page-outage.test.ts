/**
 * Failed data is shown as such: ingest on a private Redis that is then stopped for real.
 * While the API answers 503 the page keeps the last figures, says they are stale and why;
 * when Redis is back the banner goes away by itself.
 */
import { startIngest, type RunningIngest } from '../../ingest/server';
import { startPrivateRedis, type PrivateRedis } from '../../launcher/private-redis';
import { loadConfig } from '../../shared/config';
import { startWorker } from '../../worker/server';
import { postJson } from '../support/fetch-json';
import { quietLogger, testEnv } from '../support/test-config';
import { openBrowser, type BrowserSession } from '../support/chromium';

describe('fleet page when Redis goes away', () => {
  let redis: PrivateRedis;
  let ingest: RunningIngest;
  let worker: { close(): Promise<void> };
  let browser: BrowserSession;

  beforeAll(async () => {
    redis = await startPrivateRedis();
    const config = loadConfig(testEnv({ REDIS_URL: redis.url, STREAM_PARTITIONS: '2', REDIS_COMMAND_TIMEOUT_MS: '500' }));
    ingest = await startIngest(config, quietLogger);
    worker = await startWorker(config, quietLogger);
    const posted = await postJson(`${ingest.url}/v1/samples`, [
      { node: 'web-1', timeslice: 10, cpu: 40, mem: 60 },
      { node: 'web-2', timeslice: 10, cpu: 60, mem: 40 },
    ]);
    await fetch(`${ingest.url}/v1/pipeline?after=${posted.body.token}`);
    browser = await openBrowser();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await worker?.close();
    await ingest?.close();
    await redis?.destroy();
  });

  test('a 503 shows a stale-data banner over the last figures, and recovery clears it', async () => {
    const { page } = browser;
    await page.goto(`${ingest.url}/`);
    await page.waitForSelector('#fleet-cpu dd[data-value="50"]');
    expect(await page.isVisible('#banner-stale')).toBe(false);

    await redis.stop();
    await page.waitForSelector('#banner-stale', { timeout: 30_000 });
    const banner = (await page.textContent('#banner-stale')) ?? '';
    expect(banner).toContain('Stale data: the service answers 503');
    expect(banner).toMatch(/figures shown are from .* and may be out of date/);
    expect(await page.getAttribute('#main', 'class')).toContain('stale');
    // The last figures stay, marked, rather than vanishing or looking current.
    expect(await page.textContent('#fleet-cpu dd[data-value]')).toBe('50.0 %');
    await browser.screenshot('fleet-redis-down');

    await redis.restart();
    await page.waitForSelector('#banner-stale', { state: 'detached', timeout: 60_000 });
    expect(await page.getAttribute('#main', 'class')).not.toContain('stale');

    // The only console errors are the browser's own notes about the 503 answers.
    expect(browser.consoleErrors.filter((e) => !/status of 503/.test(e))).toEqual([]);
    expect(browser.consoleErrors.length).toBeGreaterThan(0);
    expect(browser.foreignRequests).toEqual([]);
  }, 120_000);
});

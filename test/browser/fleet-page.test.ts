/**
 * The fleet page in a real browser (Debian's Chromium), against ingest and a worker process
 * on the suite's private Redis with a known fleet of 1,200 nodes. Screenshots of each view
 * go to test-output/fleet-page/; UPDATE_DOC_SCREENSHOT=1 also refreshes docs/fleet-page.png.
 */
import type { ChildProcess } from 'node:child_process';
import { copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startIngest, type RunningIngest } from '../../ingest/server';
import { loadConfig } from '../../shared/config';
import { postJson, request } from '../support/fetch-json';
import { deletePrefix, quietLogger, testEnv, testRedis } from '../support/test-config';
import { killHard, spawnService, WORKER_ENTRY } from '../support/worker-process';
import { BROWSER_TIME_ZONE, openBrowser, OUTPUT_DIR, type BrowserSession } from '../support/chromium';
import { DETAILED_NODES, fleetSamples, KERNEL_WORKER, NODE_COUNT, nodeName, postAndWait } from '../support/fleet-fixture';

const percent = (v: number) => `${v.toFixed(1)} %`;
/** The key of the table row holding the keyboard focus (evaluated in the page). */
const FOCUSED_ROW = "document.activeElement?.closest('tr')?.getAttribute('data-key')";

describe('fleet page', () => {
  const env = testEnv({ STREAM_PARTITIONS: '4' });
  const config = loadConfig(env);
  let ingest: RunningIngest;
  let worker: ChildProcess;
  let browser: BrowserSession;
  const measurements: Record<string, number> = {};

  beforeAll(async () => {
    ingest = await startIngest(config, quietLogger);
    worker = spawnService(WORKER_ENTRY, env);
    await postAndWait(ingest.url, fleetSamples());
    browser = await openBrowser();
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    if (worker) await killHard(worker);
    await ingest?.close();
    const redis = testRedis(config);
    await redis.connect();
    await deletePrefix(redis, config.keyPrefix);
    await redis.quit();
    writeFileSync(join(OUTPUT_DIR, 'measurements.json'), `${JSON.stringify(measurements, null, 2)}\n`);
  });

  /** Loads the page afresh at a view (a hash change alone would keep the previous view's state). */
  async function openView(hash: string): Promise<void> {
    await browser.page.goto('about:blank');
    await browser.page.goto(`${ingest.url}/${hash}`);
  }

  afterEach(() => {
    // Every test: nothing in the console, nothing asked of any host but 127.0.0.1.
    expect(browser.consoleErrors).toEqual([]);
    expect(browser.foreignRequests).toEqual([]);
    for (const url of browser.requests) expect(new URL(url).hostname).toBe('127.0.0.1');
  });

  test('loads within 200 KB and shows the fleet numbers the API answers', async () => {
    const { page } = browser;
    browser.resetTransferred();
    await page.goto(`${ingest.url}/`);
    await page.waitForSelector('#fleet-cpu dd[data-value]:not([data-value=""])');
    await page.waitForSelector('.chart canvas');
    await page.waitForLoadState('networkidle');
    const firstLoad = browser.transferred();
    Object.assign(measurements, {
      firstLoadBytes: firstLoad.total,
      firstLoadFileBytes: firstLoad.files,
      firstLoadApiBytes: firstLoad.api,
      firstLoadRequests: firstLoad.requests,
    });
    console.log(`fleet page first load: ${JSON.stringify(firstLoad)} bytes transferred`);

    for (const [label, seconds] of [
      ['1 min', 60],
      ['15 min', 900],
      ['1 h', 3600],
    ] as const) {
      await page.getByLabel(label, { exact: true }).check();
      const api = (await request(`${ingest.url}/v1/analytics/nodes/average?timeslice=${seconds}`)).body;
      await page.waitForSelector(`#fleet-cpu dd[data-value="${api.cpu_used}"]`);
      expect(Number(await page.getAttribute('#fleet-cpu dd[data-value]', 'data-value'))).toBe(api.cpu_used);
      expect(Number(await page.getAttribute('#fleet-mem dd[data-value]', 'data-value'))).toBe(api.mem_used);
      expect(await page.textContent('#fleet-cpu dd[data-value]')).toBe(percent(api.cpu_used));
      expect(await page.textContent('#fleet-mem dd[data-value]')).toBe(percent(api.mem_used));
    }
    await page.getByLabel('1 h', { exact: true }).check();
    expect(await page.getAttribute('#fleet-nodes dd[data-value]', 'data-value')).toBe(String(NODE_COUNT));
    const shot = await browser.screenshot('fleet');
    if (process.env.UPDATE_DOC_SCREENSHOT === '1') copyFileSync(shot, join(__dirname, '..', '..', 'docs', 'fleet-page.png'));
    // The budget last, so the checks above run and the screenshot is made either way.
    expect(firstLoad.total).toBeLessThan(200 * 1024);
  }, 120_000);

  test('the page is served with a strict policy and no inline code', async () => {
    const answer = await fetch(`${ingest.url}/`);
    const csp = answer.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    expect(answer.headers.get('x-content-type-options')).toBe('nosniff');
    const html = await answer.text();
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(html).not.toMatch(/\sstyle=|<style/);
    expect(html).not.toMatch(/https?:\/\//);
  });

  test('the nodes table pages through all 1,200 nodes in name order', async () => {
    const { page } = browser;
    await openView('#/nodes');
    const seen: string[] = [];
    let pages = 0;
    for (;;) {
      await page.waitForSelector('#nodes-summary:not(:text("Loading"))');
      const summary = (await page.textContent('#nodes-summary')) ?? '';
      expect(summary).toContain(`of ${NODE_COUNT.toLocaleString('en-US')}`);
      const names = await page.$$eval('table.data tbody tr', (rows) => rows.map((r) => r.getAttribute('data-key') ?? ''));
      if (pages === 0) await browser.screenshot('nodes', false);
      expect(names.length).toBeLessThanOrEqual(100);
      seen.push(...names);
      pages++;
      if (await page.isDisabled('#nodes-next')) break;
      await page.click('#nodes-next');
      await page.waitForSelector(`table.data tbody tr:first-child:not([data-key="${names[0]}"])`);
      if (pages > 20) throw new Error('the nodes table did not end after 20 pages');
    }
    expect(pages).toBe(Math.ceil(NODE_COUNT / 100));
    expect(seen).toEqual(Array.from({ length: NODE_COUNT }, (_, i) => nodeName(i + 1)));
    // The last page holds the stale nodes, marked in words.
    expect(await page.textContent('table.data tbody')).toContain('⚠ stale');

    // Back one page, then the filter asks the API for a name prefix.
    await page.click('#nodes-previous');
    await page.waitForSelector('#nodes-summary:text("Nodes 1,001–1,100")');
    await page.fill('#nodes-filter', 'node-11');
    await page.waitForSelector('table.data tbody tr:first-child[data-key="node-1100"]');
    const filtered = await page.$$eval('table.data tbody tr', (rows) => rows.map((r) => r.getAttribute('data-key') ?? ''));
    expect(filtered).toEqual(Array.from({ length: 100 }, (_, i) => nodeName(1100 + i)));
  }, 120_000);

  test('tables are usable from the keyboard: sort buttons, arrow keys between rows', async () => {
    const { page } = browser;
    await openView('#/nodes');
    await page.waitForSelector('table.data tbody tr[data-key="node-0001"]');
    await page.focus('table.data tbody tr[data-key="node-0001"] a');
    await page.keyboard.press('ArrowDown');
    expect(await page.evaluate(FOCUSED_ROW)).toBe('node-0002');
    await page.keyboard.press('End');
    const lastRow = await page.getAttribute('table.data tbody tr:last-child', 'data-key');
    expect(await page.evaluate(FOCUSED_ROW)).toBe(lastRow);
    // Sort the page by CPU, descending, with the keyboard.
    await page.getByRole('button', { name: 'CPU' }).focus();
    await page.keyboard.press('Enter');
    await page.keyboard.press('Enter');
    expect(await page.getAttribute('th:has(button:text("CPU"))', 'aria-sort')).toBe('descending');
    const cpus = await page.$$eval('table.data tbody tr td:nth-child(4)', (cells) => cells.map((c) => parseFloat(c.textContent ?? '')));
    expect(cpus).toEqual([...cpus].sort((a, b) => b - a));
    // Times are local with UTC on hover.
    expect(await page.getAttribute('table.data tbody tr time', 'title')).toMatch(/UTC\)$/);
  }, 60_000);

  test('a node page shows its 1, 5 and 15-minute windows, its series and its processes', async () => {
    const { page } = browser;
    const node = nodeName(2);
    const api = (await request(`${ingest.url}/v1/nodes/${node}`)).body;
    await openView(`#/nodes/${node}`);
    await page.waitForSelector('table.data tbody tr[data-key="1 min"]');
    for (const [key, label] of [
      ['1m', '1 min'],
      ['5m', '5 min'],
      ['15m', '15 min'],
    ] as const) {
      const cells = await page.$$eval(`table.data tbody tr[data-key="${label}"] td`, (tds) => tds.map((td) => td.textContent));
      const w = api.windows[key];
      expect(cells).toEqual([
        label,
        percent(w.cpu.mean),
        percent(w.cpu.min),
        percent(w.cpu.max),
        percent(w.mem.mean),
        percent(w.mem.min),
        percent(w.mem.max),
        w.samples.toLocaleString('en-US'),
        expect.stringMatching(/s|min/),
      ]);
    }
    await page.waitForSelector('.chart canvas');
    // First seen: in the browser's zone, with UTC on hover.
    const firstSeen = page.locator('.facts time').nth(2);
    expect(await firstSeen.getAttribute('datetime')).toBe(api.first_seen);
    expect(await firstSeen.textContent()).toBe(new Date(api.first_seen).toLocaleString('en-US', { timeZone: BROWSER_TIME_ZONE }));
    expect(await firstSeen.getAttribute('title')).toBe(`${api.first_seen.replace('T', ' ').replace(/\.\d+Z$/, '')} UTC`);
    expect(await page.$$eval('table.data tbody tr[data-key] a[href^="#/processes/"]', (links) => links.map((a) => a.textContent))).toEqual([
      'nginx',
      'postgres',
    ]);
    await browser.screenshot('node');
  }, 60_000);

  test('processes show their instances and fleet-wide averages', async () => {
    const { page } = browser;
    await openView('#/processes');
    await page.waitForSelector('table.data tbody tr[data-key="nginx"]');
    const api = (await request(`${ingest.url}/v1/analytics/processes/nginx/?timeslice=60`)).body;
    const cells = await page.$$eval('table.data tbody tr[data-key="nginx"] td', (tds) => tds.map((td) => td.textContent));
    expect(api.num_instances).toBe(DETAILED_NODES);
    expect(cells.slice(0, 3)).toEqual(['nginx', String(api.num_instances), percent(api.cpu_used)]);
    await browser.screenshot('processes');
    await page.click('table.data tbody tr[data-key="postgres"] a');
    await page.waitForSelector('table.data tbody tr[data-key="1 h"]');
    await browser.screenshot('process');
    // A process name with "/", ":", spaces and parentheses survives the page's links and the API's paths.
    await openView('#/processes');
    await page.click(`table.data tbody tr[data-key="${KERNEL_WORKER}"] a`);
    await page.waitForSelector('table.data tbody tr[data-key="1 h"]');
    expect(await page.textContent('#process-title')).toBe(`Process ${KERNEL_WORKER}`);
    expect(await page.$$eval('table.data tbody tr[data-key="1 h"] td', (tds) => tds.map((td) => td.textContent))).toEqual([
      '1 h',
      '1',
      '0.5 %',
      '0 MB',
      '1 h',
    ]);
  }, 60_000);

  test('the pipeline panel warns about a partition that stops advancing when the worker is gone', async () => {
    const { page } = browser;
    await openView('#/pipeline');
    await page.waitForSelector('table.data tbody tr[data-key="0"]');
    expect(await page.isHidden('#pipeline-warning')).toBe(true);
    await browser.screenshot('pipeline');

    await killHard(worker);
    const items = Array.from({ length: 400 }, (_, i) => ({ node: nodeName(i + 1), timeslice: 10, cpu: 50, mem: 50 }));
    expect((await postJson(`${ingest.url}/v1/samples`, items)).status).toBe(202);
    await page.waitForSelector('#pipeline-warning:visible', { timeout: 60_000 });
    const warning = (await page.textContent('#pipeline-warning')) ?? '';
    expect(warning).toMatch(/partitions? stopped advancing/);
    expect(await page.textContent('table.data tbody')).toContain('⚠ Stalled');
    expect(await page.textContent('#pipeline-badge')).toMatch(/stalled/);
    await browser.screenshot('pipeline-stalled');
  }, 120_000);
});

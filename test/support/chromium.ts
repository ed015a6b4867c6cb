/**
 * Debian's Chromium driven by playwright-core (no browser download), with a fresh profile
 * and the background services that would try to reach the internet turned off. Records
 * console errors, every request (anything not to 127.0.0.1 is refused and reported) and
 * the bytes transferred, as the DevTools protocol counts them.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type CDPSession, type Page } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const BROWSER_TIME_ZONE = 'Europe/Berlin';
export const OUTPUT_DIR = join(__dirname, '..', '..', 'test-output', 'fleet-page');

const FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export interface BrowserSession {
  context: BrowserContext;
  page: Page;
  /** console.error calls, uncaught exceptions and failed loads the page reported */
  consoleErrors: string[];
  /** every URL the browser asked for */
  requests: string[];
  /** requests to anything but 127.0.0.1 (refused) */
  foreignRequests: string[];
  /** Bytes received over the network (headers and encoded bodies) since the last reset: the page's files and its API calls. */
  transferred(): { total: number; files: number; api: number; requests: number };
  resetTransferred(): void;
  /** Writes test-output/fleet-page/<name>.png: the whole page, or only the window's view. */
  screenshot(name: string, fullPage?: boolean): Promise<string>;
  close(): Promise<void>;
}

function isLocal(url: string): boolean {
  const { protocol, hostname } = new URL(url);
  if (protocol === 'data:' || protocol === 'blob:' || protocol === 'about:') return true;
  return hostname === '127.0.0.1';
}

export async function openBrowser(): Promise<BrowserSession> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`Chromium is not installed at ${CHROMIUM}: install Debian's "chromium" package (.ci/run does) or set CHROMIUM_PATH.`);
  }
  const profile = mkdtempSync(join(tmpdir(), 'fleet-page-chromium-'));
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: FLAGS,
      viewport: { width: 1280, height: 900 },
      // A zone away from UTC, so local times and their UTC tooltips differ visibly.
      timezoneId: BROWSER_TIME_ZONE,
      locale: 'en-US',
      timeout: 60_000,
    });
  } catch (error) {
    rmSync(profile, { recursive: true, force: true });
    throw new Error(`Chromium (${CHROMIUM}) could not start, so the fleet page cannot be tested: ${(error as Error).message}`);
  }
  const consoleErrors: string[] = [];
  const requests: string[] = [];
  const foreignRequests: string[] = [];
  await context.route(
    (url) => !isLocal(url.href),
    async (route) => {
      foreignRequests.push(route.request().url());
      await route.abort('blockedbyclient');
    },
  );
  context.on('request', (request) => requests.push(request.url()));
  const page = context.pages()[0] ?? (await context.newPage());
  page.on('console', (message) => {
    if (message.type() === 'error') consoleErrors.push(message.text());
  });
  page.on('pageerror', (error) => consoleErrors.push(`uncaught: ${error.message}`));

  // Encoded bytes per request, from the DevTools protocol (what "transferred" means in DevTools).
  const cdp: CDPSession = await context.newCDPSession(page);
  await cdp.send('Network.enable');
  const urls = new Map<string, string>();
  let transferred = { total: 0, files: 0, api: 0, requests: 0 };
  cdp.on('Network.requestWillBeSent', (event: { requestId: string; request: { url: string } }) => {
    urls.set(event.requestId, event.request.url);
  });
  cdp.on('Network.loadingFinished', (event: { requestId: string; encodedDataLength: number }) => {
    const path = new URL(urls.get(event.requestId) ?? 'http://127.0.0.1/').pathname;
    transferred.total += event.encodedDataLength;
    transferred.requests += 1;
    if (path.startsWith('/v1/')) transferred.api += event.encodedDataLength;
    else transferred.files += event.encodedDataLength;
  });

  mkdirSync(OUTPUT_DIR, { recursive: true });
  return {
    context,
    page,
    consoleErrors,
    requests,
    foreignRequests,
    transferred: () => ({ ...transferred }),
    resetTransferred: () => {
      transferred = { total: 0, files: 0, api: 0, requests: 0 };
    },
    async screenshot(name, fullPage = true) {
      const path = join(OUTPUT_DIR, `${name}.png`);
      await page.screenshot({ path, fullPage });
      return path;
    },
    async close() {
      await context.close().catch(() => undefined);
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

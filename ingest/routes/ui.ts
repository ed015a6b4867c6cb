/**
 * The fleet page (README "Fleet page"): GET / and /ui/ serve index.html, /ui/<file> the
 * page's scripts, styles and the vendored chart library. Open without a token: the page
 * holds no data; it asks the API, which checks the token.
 */
import Router from '@koa/router';
import type { Context } from 'koa';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../../shared/logger';
import { loadStaticFiles, type StaticFile } from '../static-files';

/** Where the page's files live: next to this module's folder, in the sources and in dist/. */
export const UI_DIR = join(__dirname, '..', 'ui');

/** Scripts, styles, images and API calls only from this origin; no inline code, no frames, no forms posted anywhere. */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const REQUIRED = ['index.html', 'app.js', 'vendor/uPlot.iife.min.js'];

export function uiRouter(logger: Logger, dir = UI_DIR): Router {
  const router = new Router();
  const files = existsSync(dir) ? loadStaticFiles(dir) : new Map<string, StaticFile>();
  const missing = REQUIRED.filter((name) => !files.has(name));
  if (missing.length > 0) logger.warn({ dir, missing }, 'fleet page files are missing; run "npm run build"');

  const send = (ctx: Context, file: StaticFile) => {
    ctx.set('Content-Security-Policy', CONTENT_SECURITY_POLICY);
    ctx.set('X-Content-Type-Options', 'nosniff');
    ctx.set('Referrer-Policy', 'no-referrer');
    ctx.set('Cross-Origin-Resource-Policy', 'same-origin');
    // File names carry no version, so the browser revalidates each time (a cheap 304).
    ctx.set('Cache-Control', 'no-cache');
    ctx.set('ETag', file.etag);
    ctx.vary('Accept-Encoding');
    if (ctx.get('If-None-Match') === file.etag) {
      ctx.status = 304;
      return;
    }
    ctx.type = file.type;
    if (file.gzipped && ctx.acceptsEncodings('gzip', 'identity') === 'gzip') {
      ctx.set('Content-Encoding', 'gzip');
      ctx.body = file.gzipped;
    } else {
      ctx.body = file.body;
    }
  };

  const index = files.get('index.html');
  if (index) {
    for (const path of ['/', '/ui/']) router.get(path, (ctx) => send(ctx, index));
  }
  // One route per file listed at start-up: nothing a client sends is joined to a path.
  for (const [name, file] of files) router.get(`/ui/${name}`, (ctx) => send(ctx, file));
  return router;
}

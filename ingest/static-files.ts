/**
 * The fleet page's files, read once at start-up from one folder into memory. A request can
 * only name a file that was listed then (an exact map lookup), so no path from a client
 * ever reaches the file system: no traversal, no symlinks followed, no surprises.
 */
import { createHash } from 'node:crypto';
import { lstatSync, readdirSync, readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { gzipSync } from 'node:zlib';

export interface StaticFile {
  body: Buffer;
  /** gzip-compressed body, when that is smaller */
  gzipped?: Buffer;
  type: string;
  etag: string;
}

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.txt': 'text/plain; charset=utf-8',
};

/** Files bigger than this are not a page's asset; refusing them keeps memory bounded. */
const MAX_FILE_BYTES = 1024 * 1024;
const MAX_FILES = 200;
const SAFE_NAME = /^[A-Za-z0-9_-][A-Za-z0-9._-]*$/;

/** Lists `dir` recursively: URL path relative to `dir` (with "/") -> file. Unknown types and dotfiles are left out. */
export function loadStaticFiles(dir: string): Map<string, StaticFile> {
  const files = new Map<string, StaticFile>();
  const walk = (folder: string, prefix: string) => {
    for (const name of readdirSync(folder).sort()) {
      // Dotfiles and names a route pattern could read as syntax are never served.
      if (!SAFE_NAME.test(name)) continue;
      const path = join(folder, name);
      const stat = lstatSync(path);
      if (stat.isDirectory()) walk(path, `${prefix}${name}/`);
      const type = TYPES[extname(name).toLowerCase()];
      if (!stat.isFile() || type === undefined || stat.size > MAX_FILE_BYTES) continue;
      if (files.size >= MAX_FILES) throw new Error(`more than ${MAX_FILES} files in ${dir}`);
      const body = readFileSync(path);
      const gzipped = type.startsWith('image/png') ? undefined : gzipSync(body, { level: 9 });
      files.set(`${prefix}${name}`, {
        body,
        gzipped: gzipped && gzipped.length < body.length ? gzipped : undefined,
        type,
        etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`,
      });
    }
  };
  walk(dir, '');
  return files;
}

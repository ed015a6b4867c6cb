// Build step of the fleet page: vendors uPlot from its npm package into ingest/ui/vendor/
// (never a CDN: the page must work without internet), then ships ingest/ui/ into dist/.
// It stays out of ingest/ui/ because that whole folder is shipped and served as the page.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const ui = path.join(root, 'ingest', 'ui');
const vendor = path.join(ui, 'vendor');
const uplot = path.dirname(require.resolve('uplot/package.json'));

fs.mkdirSync(vendor, { recursive: true });
for (const [from, to] of [
  ['dist/uPlot.iife.min.js', 'uPlot.iife.min.js'],
  ['dist/uPlot.min.css', 'uPlot.min.css'],
  ['LICENSE', 'uPlot.LICENSE.txt'],
]) {
  fs.copyFileSync(path.join(uplot, from), path.join(vendor, to));
}

const target = path.join(root, 'dist', 'ingest', 'ui');
fs.rmSync(target, { recursive: true, force: true });
fs.cpSync(ui, target, { recursive: true });

/** The global set-up's decision to rebuild dist/: a source newer than the last build means rebuild (temporary trees, no real build). */
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { BUILD_STAMP, isBuildStale, rebuildIfStale } from '../support/build-freshness';

const SOURCES = [
  'shared/config.ts',
  'shared/store/lua/apply-batch.lua',
  'ingest/otlp/proto/metrics.proto',
  'ingest/ui/app.js',
  'worker/main.ts',
  'cli/main.ts',
  'launcher/start-all.ts',
  'package.json',
  'tsconfig.build.json',
  'scripts/build-ui.mjs',
];
const SOURCE_TIME = new Date('2026-01-01T00:00:00Z');
const BUILD_TIME = new Date('2026-01-01T00:01:00Z');
const LATER = new Date('2026-01-01T00:02:00Z');

let root: string;

function setTree(path: string, time: Date): void {
  if (statSync(path).isDirectory()) for (const name of readdirSync(path)) setTree(join(path, name), time);
  utimesSync(path, time, time);
}

/** A checkout built at BUILD_TIME from sources last changed at SOURCE_TIME. */
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'nodeagg-build-freshness-'));
  for (const file of [...SOURCES, 'ingest/ui/vendor/uPlot.iife.min.js', 'dist/shared/config.js']) {
    mkdirSync(join(root, dirname(file)), { recursive: true });
    writeFileSync(join(root, file), '');
  }
  setTree(root, SOURCE_TIME);
  writeFileSync(join(root, BUILD_STAMP), '');
  utimesSync(join(root, BUILD_STAMP), BUILD_TIME, BUILD_TIME);
});

afterEach(() => rmSync(root, { recursive: true, force: true }));

test('a build newer than every source is fresh, and is not rebuilt', () => {
  const build = jest.fn();
  expect(isBuildStale(root)).toBe(false);
  expect(rebuildIfStale(root, build)).toBe(false);
  expect(build).not.toHaveBeenCalled();
});

test('dist/ without the build stamp (never built, or a build that failed midway) is stale', () => {
  rmSync(join(root, BUILD_STAMP));
  expect(isBuildStale(root)).toBe(true);
});

test.each(SOURCES)('%s changed after the build: stale, and rebuilt once', (file) => {
  utimesSync(join(root, file), LATER, LATER);
  const build = jest.fn();
  expect(rebuildIfStale(root, build)).toBe(true);
  expect(build).toHaveBeenCalledTimes(1);
  expect(build).toHaveBeenCalledWith(root);
});

test('a source file deleted or renamed after the build makes it stale (its folder changed)', () => {
  rmSync(join(root, 'cli/main.ts'));
  expect(isBuildStale(root)).toBe(true);
});

test('what the build writes itself (the vendored uPlot) and files outside the sources do not count', () => {
  const vendored = join(root, 'ingest/ui/vendor/uPlot.iife.min.js');
  utimesSync(vendored, LATER, LATER);
  utimesSync(dirname(vendored), LATER, LATER);
  utimesSync(join(root, 'dist/shared/config.js'), LATER, LATER);
  writeFileSync(join(root, 'notes.md'), '');
  expect(isBuildStale(root)).toBe(false);
});

test('after the global set-up, this checkout is built from its current sources (the build writes the stamp)', () => {
  expect(isBuildStale(join(__dirname, '..', '..'))).toBe(false);
});

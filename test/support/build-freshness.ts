/**
 * Whether dist/ is older than the sources it is built from. Child-process tests run dist/,
 * so the global set-up rebuilds a stale one instead of testing yesterday's code.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** Touched by `npm run build` after its last step (package.json), so it dates the whole build. */
export const BUILD_STAMP = join('dist', '.build-stamp');

/** What `npm run build` reads: the source folders and the build's own configuration. */
export const BUILD_SOURCES: readonly string[] = [
  'shared',
  'ingest',
  'worker',
  'cli',
  'launcher',
  'package.json',
  'tsconfig.json',
  'tsconfig.build.json',
  join('scripts', 'build-ui.mjs'),
];

/** Written by the build itself inside a source folder (uPlot, vendored by scripts/build-ui.mjs). */
const BUILD_WRITES: readonly string[] = [join('ingest', 'ui', 'vendor')];

/** Newest modification time under `path`, folders included: adding, renaming or deleting a file changes its folder's time. */
function newestMtimeMs(root: string, path: string): number {
  if (BUILD_WRITES.includes(path)) return 0;
  const full = join(root, path);
  if (!existsSync(full)) return 0;
  const stat = statSync(full);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return readdirSync(full).reduce((newest, name) => Math.max(newest, newestMtimeMs(root, join(path, name))), stat.mtimeMs);
}

export function isBuildStale(root: string): boolean {
  const stamp = join(root, BUILD_STAMP);
  if (!existsSync(stamp)) return true;
  const builtAt = statSync(stamp).mtimeMs;
  return BUILD_SOURCES.some((source) => newestMtimeMs(root, source) > builtAt);
}

function npmBuild(root: string): void {
  execFileSync('npm', ['run', 'build', '--silent'], { cwd: root, stdio: 'inherit' });
}

/** Rebuilds when dist/ is stale; says whether it did. */
export function rebuildIfStale(root: string, build: (root: string) => void = npmBuild): boolean {
  if (!isBuildStale(root)) return false;
  build(root);
  return true;
}

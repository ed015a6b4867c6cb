/**
 * The layout's arrows: shared/ imports nothing from ingest/ or worker/, and they never import each other;
 * the command line and the launcher build on shared/ and nothing of theirs is imported by the services.
 * Redis itself is reached only through shared/store/.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = join(__dirname, '..', '..');

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sources(path) : path.endsWith('.ts') ? [path] : [];
  });
}

function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/from '(\.[^']+)'/g)].map((m) => relative(root, join(file, '..', m[1]!)));
}

test.each([
  ['shared', ['ingest', 'worker', 'cli', 'launcher']],
  ['ingest', ['worker', 'cli', 'launcher']],
  ['worker', ['ingest', 'cli', 'launcher']],
])('%s/ does not import from %j', (folder, forbidden) => {
  const offenders = sources(join(root, folder)).flatMap((file) =>
    importsOf(file)
      .filter((target) => forbidden.some((f) => target.startsWith(`${f}/`)))
      .map((target) => `${relative(root, file)} -> ${target}`),
  );
  expect(offenders).toEqual([]);
});

test('Redis is reached through shared/store/: no other module imports ioredis (but the client factory) or pipelines by itself', () => {
  const clientFactory = join('shared', 'redis.ts');
  const offenders = ['ingest', 'worker', 'shared', 'cli', 'launcher'].flatMap((folder) =>
    sources(join(root, folder))
      .map((file) => relative(root, file))
      .filter((file) => !file.startsWith(join('shared', 'store') + '/') && file !== clientFactory)
      .filter((file) => /from 'ioredis(\/[^']*)?'|\.(pipeline|multi)\(\)/.test(readFileSync(join(root, file), 'utf8'))),
  );
  expect(offenders).toEqual([]);
});

/**
 * package.json pins koa-compose at 4.1.0 (overrides) for Koa and @koa/router: 4.2.0 flattens
 * the chain @koa/router composes on every request, with reduce and concat, about 4,300
 * instructions of a single POST (docs/BENCHMARKS.md, "koa-compose without the flatten").
 * The chains it is given are already flat.
 */
import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';

function composeVersionSeenBy(pkg: string): string {
  const from = dirname(require.resolve(pkg));
  const manifest = require.resolve('koa-compose/package.json', { paths: [from] });
  return (JSON.parse(readFileSync(manifest, 'utf8')) as { version: string }).version;
}

test.each(['koa', '@koa/router'])('%s composes with koa-compose 4.1.0', (pkg) => {
  expect(composeVersionSeenBy(pkg)).toBe('4.1.0');
});

/** The README's configuration table lists exactly the variables the code reads. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SETTINGS } from '../../shared/config';

test('every setting is documented in README.md and nothing else is', () => {
  const readme = readFileSync(join(__dirname, '..', '..', 'README.md'), 'utf8');
  const table = readme.slice(readme.indexOf('## Configuration'));
  const documented = [...table.matchAll(/^\| `([A-Z_]+)` \|/gm)].map((m) => m[1]);
  expect(documented.sort()).toEqual(Object.keys(SETTINGS).sort());
});

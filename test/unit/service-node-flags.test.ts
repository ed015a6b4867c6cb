/** The starts of ingest and worker outside the deployment files pass the services' Node flags too. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SERVICE_NODE_FLAGS } from '../../launcher/service-node-flags';

const ROOT = join(__dirname, '..', '..');
const read = (file: string) => readFileSync(join(ROOT, file), 'utf8');

/** The flags between `node` and the entry point of each line that runs `dist/<role>/main.js`. */
function flagsOfStarts(text: string, role: 'ingest' | 'worker'): string[][] {
  const starts = [...text.matchAll(new RegExp(`\\bnode((?: -[^\\s]+)*) dist/${role}/main\\.js`, 'g'))];
  return starts.map((start) => (start[1] ?? '').split(' ').filter((flag) => flag !== ''));
}

const SCRIPTS = (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts;

test.each([
  ['npm run start:ingest', SCRIPTS['start:ingest'] ?? '', 'ingest'],
  ['npm run start:worker', SCRIPTS['start:worker'] ?? '', 'worker'],
  ['measure-resources.sh (ingest)', read('test/deploy/tools/measure-resources.sh'), 'ingest'],
  ['measure-resources.sh (worker)', read('test/deploy/tools/measure-resources.sh'), 'worker'],
] as const)('%s passes them', (_what, text, role) => {
  const starts = flagsOfStarts(text, role);
  expect(starts.length).toBeGreaterThan(0);
  for (const flags of starts) expect(flags).toEqual(expect.arrayContaining([...SERVICE_NODE_FLAGS[role]]));
});

test('a start without them is told apart', () => {
  expect(flagsOfStarts('node dist/worker/main.js', 'worker')).toEqual([[]]);
  expect(flagsOfStarts('node --max-semi-space-size=32 dist/worker/main.js', 'worker')).toEqual([['--max-semi-space-size=32']]);
});

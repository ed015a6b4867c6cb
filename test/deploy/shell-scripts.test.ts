/**
 * Every shell script of the project passes `shellcheck` at warning level: the cluster scripts
 * run inside Redis pods, the measuring script and CI on operators' and CI machines.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { ROOT } from '../support/deploy-files';

const scripts = [...execFileSync('git', ['ls-files', '*.sh'], { cwd: ROOT, encoding: 'utf8' }).split('\n').filter(Boolean), '.ci/run'];

test('there are shell scripts to check', () => {
  expect(scripts).toEqual(expect.arrayContaining(['.ci/run', 'test/deploy/tools/measure-resources.sh']));
});

test.each(scripts)('%s passes shellcheck', (script) => {
  const result = spawnSync('shellcheck', ['--severity=warning', script], { cwd: ROOT, encoding: 'utf8' });
  if (result.error) throw new Error(`shellcheck could not run (.ci/run installs it): ${result.error.message}`);
  expect(result.stdout + result.stderr).toBe('');
  expect(result.status).toBe(0);
});

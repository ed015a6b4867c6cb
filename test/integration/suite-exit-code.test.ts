/**
 * The suite's own set-up and tear-down must not hide a failure: a failing test run with
 * them (a private redis-server started and stopped) exits non-zero, so CI goes red.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const root = join(__dirname, '..', '..');

test('a failing test under the global set-up and tear-down makes jest exit non-zero', () => {
  const config = {
    rootDir: root,
    roots: ['<rootDir>/test/fixtures/failing-suite'],
    testMatch: ['**/*.check.ts'],
    transform: { '^.+\\.ts$': 'ts-jest' },
    globalSetup: '<rootDir>/test/global-setup.ts',
    globalTeardown: '<rootDir>/test/global-teardown.ts',
  };
  // No REDIS_URL: the global set-up starts its own redis-server, as in CI.
  const env = { ...process.env };
  delete env.REDIS_URL;
  const run = spawnSync(process.execPath, [join(root, 'node_modules', 'jest', 'bin', 'jest.js'), '--config', JSON.stringify(config)], {
    cwd: root,
    env,
    encoding: 'utf8',
    timeout: 120_000,
  });
  expect(run.stderr).toMatch(/1 failed/);
  expect(run.status).toBe(1);
}, 150_000);

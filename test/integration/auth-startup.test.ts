/**
 * How the services start with and without tokens: AUTH_REQUIRED refuses to run open, a malformed
 * tokens file stops them naming the line, open mode warns, and a changed tokens file applies without
 * a restart (rotation: add the new line, roll clients, remove the old).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startIngest } from '../../ingest/server';
import { createToken } from '../../cli/commands/token';
import { capturingLogger } from '../support/capturing-logger';
import { request } from '../support/fetch-json';
import { testConfig, testEnv } from '../support/test-config';
import { bearer } from '../support/tokens';
import { waitUntil } from '../support/wait-until';

const DIST = join(__dirname, '..', '..', 'dist');

/** Runs a service's main until it exits (it must, within the bound). */
function runService(script: string, env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [join(DIST, script)], { env: { ...process.env, ...env }, timeout: 20_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, output: `${stdout}${stderr}` });
    });
  });
}

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'nodeagg-tokens-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test.each(['ingest/main.js', 'worker/main.js'])(
  '%s with AUTH_REQUIRED=true and no tokens refuses to start, naming the variables',
  async (script) => {
    const result = await runService(script, testEnv({ AUTH_REQUIRED: 'true', LOG_LEVEL: 'info' }));
    expect(result.code).not.toBe(0);
    expect(result.output).toMatch(/AUTH_REQUIRED=true but no API tokens are configured: set API_TOKENS_FILE .* or API_TOKENS/);
  },
);

test.each(['ingest/main.js', 'worker/main.js'])(
  '%s with a malformed tokens file stops, naming the line but not the secret',
  async (script) => {
    const good = createToken('agents', ['write']);
    const path = join(dir, `bad-${script.replace(/\W/g, '-')}`);
    writeFileSync(path, `# tokens\n${good.line}\ngrafana read ${good.token}\n`);
    const result = await runService(script, testEnv({ API_TOKENS_FILE: path, AUTH_REQUIRED: 'true', LOG_LEVEL: 'info' }));
    expect(result.code).not.toBe(0);
    expect(result.output).toContain(`API_TOKENS_FILE ${path} line 3: the third field must be the sha256`);
    expect(result.output).not.toContain(good.token);
    expect(result.output).not.toContain(good.line.split(' ')[2]);
  },
);

test('setting both API_TOKENS_FILE and API_TOKENS is refused', async () => {
  const result = await runService(
    'ingest/main.js',
    testEnv({ API_TOKENS_FILE: join(dir, 'x'), API_TOKENS: createToken('a', ['read']).line, LOG_LEVEL: 'info' }),
  );
  expect(result.code).not.toBe(0);
  expect(result.output).toContain('API_TOKENS_FILE and API_TOKENS are both set; set only one of them.');
});

test('with no tokens the service runs open and says so at start', async () => {
  const lines: string[] = [];
  const ingest = await startIngest(testConfig(), capturingLogger(lines));
  try {
    const warning = lines.map((l) => JSON.parse(l) as { level: number; msg: string }).find((l) => /NO API TOKENS CONFIGURED/.test(l.msg));
    expect(warning?.level).toBe(40); // warn
    expect(warning?.msg).toMatch(/API_TOKENS_FILE or API_TOKENS .*AUTH_REQUIRED=true/);
    expect((await request(`${ingest.url}/v1/pipeline`)).status).toBe(200);
    expect((await request(`${ingest.url}/metrics`)).status).toBe(200);
  } finally {
    await ingest.close();
  }
});

test('a changed tokens file applies without a restart: add the new token, then remove the old; a broken edit keeps the last good tokens', async () => {
  const path = join(dir, 'tokens');
  const old = createToken('agents-2025', ['read']);
  const next = createToken('agents-2026', ['read']);
  // Written as a Kubernetes Secret volume updates: a new file renamed over the old path.
  const publish = (text: string) => {
    writeFileSync(`${path}.tmp`, text);
    renameSync(`${path}.tmp`, path);
  };
  publish(`${old.line}\n`);
  const lines: string[] = [];
  const ingest = await startIngest(testConfig({ API_TOKENS_FILE: path, API_TOKENS_RELOAD_MS: '100' }), capturingLogger(lines));
  const status = async (token: string) => (await request(`${ingest.url}/v1/pipeline`, { headers: bearer(token) })).status;
  try {
    expect(await status(old.token)).toBe(200);
    expect(await status(next.token)).toBe(401);

    publish(`${old.line}\n${next.line}\n`);
    await waitUntil(async () => (await status(next.token)) === 200);
    expect(await status(old.token)).toBe(200);

    publish(`${next.line}\n`);
    await waitUntil(async () => (await status(old.token)) === 401);
    expect(await status(next.token)).toBe(200);

    publish(`${next.line}\nbroken line\n`);
    await waitUntil(async () => lines.some((l) => l.includes('line 2: expected') && l.includes('keeping the previous tokens')));
    expect(await status(next.token)).toBe(200);

    // An emptied file leaves no token valid: it never reopens the API.
    publish('# everything revoked\n');
    await waitUntil(async () => (await status(next.token)) === 401);
    expect((await request(`${ingest.url}/v1/pipeline`)).status).toBe(401);
  } finally {
    await ingest.close();
  }
});

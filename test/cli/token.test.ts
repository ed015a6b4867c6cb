/**
 * `nodeagg token create` through the real CLI, and every kind of client sending its token to a
 * service that requires one: commands, the agent, and load.
 */
import { createHash } from 'node:crypto';
import type { LoadReport } from '../../cli/load/open-loop';
import { parseTokenFile } from '../../shared/auth/token-file';
import { startPipeline, type TestPipeline } from '../support/pipeline';
import { testConfig } from '../support/test-config';
import { runCli } from '../support/run-cli';

interface Created {
  name: string;
  scopes: string[];
  token: string;
  line: string;
}

async function create(name: string, scopes: string): Promise<Created> {
  const result = await runCli(['--json', 'token', 'create', '--name', name, '--scopes', scopes]);
  expect(result.code).toBe(0);
  return JSON.parse(result.stdout) as Created;
}

describe('token create', () => {
  test('prints a random 256-bit token and its line: name, scopes, sha256 hex of the token', async () => {
    const result = await runCli(['token', 'create', '--name', 'agents-eu', '--scopes', 'write,read']);
    expect(result.code).toBe(0);
    const match = /^token {2}([A-Za-z0-9_-]{43})\nline {3}(agents-eu write,read ([0-9a-f]{64}))\n$/.exec(result.stdout);
    expect(match).not.toBeNull();
    const [, token, line, hash] = match!;
    expect(Buffer.from(token!, 'base64url')).toHaveLength(32);
    expect(hash).toBe(createHash('sha256').update(token!).digest('hex'));
    expect(result.stderr).toMatch(/not shown again/);
    expect(parseTokenFile(line!, 'API_TOKENS')[0]).toMatchObject({ name: 'agents-eu', scopes: new Set(['write', 'read']) });
    const again = await create('agents-eu', 'write,read');
    expect(again.token).not.toBe(token);
  });

  test.each([
    [['--name', 'bad name', '--scopes', 'write'], /the name must be 1-64 characters/],
    [['--name', 'x', '--scopes', 'write,root'], /unknown scope "root"; scopes are write, read, admin, metrics/],
    [['--name', 'x', '--scopes', ','], /give at least one scope/],
    [['--scopes', 'write'], /required option '--name <name>' not specified/],
  ])('%j is a usage error (exit 2)', async (args, message) => {
    const result = await runCli(['token', 'create', ...args]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stdout).toBe('');
  });
});

describe('clients send their token', () => {
  let pipeline: TestPipeline;
  let writer: Created;
  let reader: Created;
  let both: Created;
  beforeAll(async () => {
    [writer, reader, both] = await Promise.all([create('writer', 'write'), create('reader', 'read'), create('agent', 'write,read')]);
    pipeline = await startPipeline(testConfig({ API_TOKENS: [writer.line, reader.line, both.line].join('\n') }));
  });
  afterAll(() => pipeline.stop());
  const run = (args: string[], env: Record<string, string> = {}) => runCli(['--url', pipeline.url, ...args], env);

  test('post and query with --token and NODEAGG_TOKEN; without a token or with the wrong scope they fail with exit 1', async () => {
    const posted = await run(['--json', 'post', 'tok-web-1', '--cpu', '20', '--mem', '30', '--token', writer.token]);
    expect(posted.code).toBe(0);
    const { token: after } = JSON.parse(posted.stdout) as { token: string };
    const node = await run(['--json', 'node', 'tok-web-1', '--after', after], { NODEAGG_TOKEN: reader.token });
    expect(node.code).toBe(0);

    const anonymous = await run(['post', 'tok-web-2', '--cpu', '1', '--mem', '1']);
    expect(anonymous.code).toBe(1);
    expect(anonymous.stderr).toMatch(/401 UNAUTHENTICATED: This route needs a token with the "write" scope/);
    const wrongScope = await run(['nodes'], { NODEAGG_TOKEN: writer.token });
    expect(wrongScope.code).toBe(1);
    expect(wrongScope.stderr).toMatch(/403 FORBIDDEN: The token "writer" lacks the "read" scope/);
    const purge = await run(['dlq', 'purge', '--yes', '--token', reader.token]);
    expect(purge.code).toBe(1);
    expect(purge.stderr).toMatch(/403 FORBIDDEN: The token "reader" lacks the "admin" scope/);
    const status = await run(['status', '--token', reader.token]);
    expect(status.code).toBe(0);
  });

  test('the agent sends its token', async () => {
    const sent = await run(['agent', '--once', '--interval', '0.2', '--node', 'tok-agent', '--top', '0'], { NODEAGG_TOKEN: both.token });
    expect(sent.code).toBe(0);
    const refused = await run(['agent', '--once', '--interval', '0.2', '--node', 'tok-agent-2', '--top', '0']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/401 UNAUTHENTICATED/);
    const listed = await run(['--json', 'nodes', '--token', reader.token]);
    expect(listed.stdout).toContain('tok-agent');
    expect(listed.stdout).not.toContain('tok-agent-2');
  });

  test('load sends its token on posts and freshness probes; without one every sample is refused 401', async () => {
    const args = ['--json', 'load', '--nodes', '10', '--rate', '200', '--duration', '1s', '--batch', '20', '--processes', '1'];
    const withToken = await run([...args, '--freshness-every', '100ms', '--token', both.token]);
    expect(withToken.code).toBe(0);
    const report = JSON.parse(withToken.stdout) as LoadReport;
    expect(report.samples.offered).toBe(200);
    expect(report.samples.accepted).toBe(200);
    expect(report.freshness_ms.count).toBeGreaterThan(0);
    expect(report.freshness_ms.errors).toBe(0);
    const without = await run(args);
    const refused = JSON.parse(without.stdout) as LoadReport;
    expect(refused.samples.accepted).toBe(0);
    expect(refused.samples.rejected_by_status['401']).toBe(200);
  });
});

/** Every nodeagg command against a running pipeline: its output, --json, and its exit code, including the error paths. */
import { readFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { renderStatus } from '../../cli/commands/status';
import { freePort } from '../../launcher/free-port';
import { startPipeline, type TestPipeline } from '../support/pipeline';
import { testConfig } from '../support/test-config';
import { runCli } from '../support/run-cli';

let pipeline: TestPipeline;
let url: string;
const run = (...args: string[]) => runCli(['--url', url, ...args]);

beforeAll(async () => {
  pipeline = await startPipeline(testConfig());
  url = pipeline.url;
});
afterAll(async () => {
  await pipeline.stop();
});

describe('posting and querying', () => {
  let token = '';

  test('post a node sample: table output, exit 0', async () => {
    const result = await run('post', 'cli-web-1', '--cpu', '20', '--mem', '30', '--timeslice', '10');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^accepted node sample for cli-web-1\nid\s+\d+-\d+\ntoken\s+\S+\n$/);
  });

  test('post a process sample with --json', async () => {
    const result = await run('--json', 'post', 'cli-web-1', '--process', 'nginx', '--cpu-used', '130', '--mem-used', '512');
    expect(result.code).toBe(0);
    const body = JSON.parse(result.stdout);
    expect(body).toEqual({ id: expect.stringMatching(/^\d+-\d+$/), token: expect.any(String) });
    token = body.token;
  });

  test('average, with --after the token, as a table and as JSON', async () => {
    const table = await run('average', '--timeslice', '60', '--after', token);
    expect(table.code).toBe(0);
    expect(table.stdout).toContain('fleet average over the last 60 s of history');
    expect(table.stdout).toMatch(/cpu\s+20 %/);
    expect(table.stdout).toMatch(/mem\s+30 %/);
    const json = await run('average', '--json', '--after', token);
    expect(JSON.parse(json.stdout)).toEqual({ timeslice: 10, cpu_used: 20, mem_used: 30 });
  });

  test('processes and process NAME', async () => {
    const list = await run('processes', '--after', token);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/1 process in the last 60 s/);
    expect(list.stdout).toContain('  nginx');
    const one = await run('process', 'nginx', '--json', '--after', token);
    expect(JSON.parse(one.stdout)).toEqual({ timeslice: 10, cpu_used: 130, mem_used: 512, num_instances: 1 });
    const text = await run('process', 'nginx');
    expect(text.stdout).toMatch(/cpu used\s+130 %/);
    expect(text.stdout).toMatch(/mem used\s+512 MB/);
    expect(text.stdout).toMatch(/nodes\s+1/);
  });

  test('nodes and node NAME', async () => {
    const nodes = await run('nodes', '--after', token);
    expect(nodes.code).toBe(0);
    expect(nodes.stdout).toMatch(/^NODE\s+LAST SEEN\s+CPU\s+MEM\s+TIMESLICE$/m);
    expect(nodes.stdout).toMatch(/^cli-web-1\s+.*20 %\s+30 %\s+10 s$/m);
    expect(nodes.stdout).toMatch(/^1 of 1 node$/m);
    const node = await run('node', 'cli-web-1');
    expect(node.code).toBe(0);
    expect(node.stdout).toMatch(/^1m\s+1\s+10 s\s+20 %\s+20 %\s+20 %\s+30 %\s+30 %\s+30 %$/m);
    expect(node.stdout).toMatch(/^nginx\s+/m);
    const json = JSON.parse((await run('node', 'cli-web-1', '--json')).stdout);
    expect(json.name).toBe('cli-web-1');
    expect(json.windows['5m'].samples).toBe(1);
  });

  test('status: every partition, totals, consumers; --json is the service view', async () => {
    const text = await run('status');
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^PARTITION\s+STREAM\s+LENGTH\s+LAG\s+PENDING\s+(OLDEST PENDING\s+)?CONSUMERS\s+LAST APPLIED$/m);
    for (let p = 0; p < pipeline.config.streamPartitions; p++) expect(text.stdout).toMatch(new RegExp(`^\\s*${p}\\s+\\S+:stream`, 'm'));
    expect(text.stdout).toMatch(/^total\s+/m);
    expect(text.stdout).toMatch(/^dead letters: /m);
    expect(text.stdout).toMatch(/^CONSUMER\s+PARTITIONS\s+PENDING\s+IDLE$/m);
    const json = JSON.parse((await run('status', '--json')).stdout);
    expect(json.partitions).toHaveLength(pipeline.config.streamPartitions);
    expect(json.totals.consumers).toBe(1);
  });

  test('dlq list on an empty queue; purge needs --yes', async () => {
    const list = await run('dlq', 'list');
    if (list.code === 1 && /no dead-letter queue routes/.test(list.stderr)) return; // a service without the routes says so
    expect(list.code).toBe(0);
    expect(list.stdout).toBe('the dead-letter queue is empty\n');
    expect(JSON.parse((await run('dlq', 'list', '--json')).stdout)).toEqual({ count: 0, items: [] });
    const refused = await run('dlq', 'purge');
    expect(refused.code).toBe(2);
    expect(refused.stderr).toBe('error: purge deletes every dead letter; pass --yes to confirm, or --id <id> for one\n');
    const purge = await run('dlq', 'purge', '--yes', '--json');
    expect(purge.code).toBe(0);
    expect(JSON.parse(purge.stdout)).toEqual({ purged: 0 });
    const replay = await run('dlq', 'replay');
    expect(replay.code).toBe(0);
    expect(replay.stdout).toBe('replayed 0 entries\n');
  });

  test('dlq replay says which letters it dropped and which it kept', async () => {
    const answer = { replayed: 2, already_applied: 1, still_pending: 3 };
    const server = createServer((_req, res) => void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer)));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const serviceUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const replay = await runCli(['--url', serviceUrl, 'dlq', 'replay']);
      expect(replay.code).toBe(0);
      expect(replay.stdout).toBe(
        'replayed 2 entries\n' +
          'dropped 1 entry a worker applied after all (replaying would count them twice)\n' +
          'kept 3 entries still being dead-lettered: replay again in a minute\n',
      );
      expect(JSON.parse((await runCli(['--url', serviceUrl, '--json', 'dlq', 'replay'])).stdout)).toEqual(answer);
    } finally {
      server.close();
    }
  });
});

test('status renders a service that reports neither dead letters nor pending age', () => {
  const text = renderStatus(
    {
      partitions: [
        {
          partition: 0,
          stream: 'na:{p0of4-3}:stream',
          length: 3,
          lag: null,
          pending: 1,
          last_delivered_id: '1-0',
          consumers: [{ name: 'w1', pending: 1, idle_ms: 5 }],
          last_applied: null,
        },
      ],
      totals: { length: 3, lag: 0, pending: 1, consumers: 1 },
      last_applied: null,
    },
    0,
  );
  expect(text.split('\n')).toEqual([
    'PARTITION  STREAM               LENGTH  LAG  PENDING  CONSUMERS  LAST APPLIED',
    '        0  na:{p0of4-3}:stream       3  ?          1          1  -',
    'total                                3    0        1          1  -',
    '',
    'dead letters: not reported by this service',
    '',
    'CONSUMER  PARTITIONS  PENDING  IDLE',
    'w1                 1        1  5 ms',
  ]);
});

describe('errors: one line on stderr and a distinct exit code', () => {
  test('service down: exit 3 and what to do', async () => {
    const closed = `http://127.0.0.1:${await freePort()}`;
    for (const args of [['average'], ['post', 'n1', '--cpu', '1', '--mem', '1'], ['status'], ['load', '--duration', '1s']]) {
      const result = await runCli(['--url', closed, ...args]);
      expect(result.code).toBe(3);
      expect(result.stdout).toBe('');
      expect(result.stderr).toBe(
        `error: cannot reach the service at ${closed} (connection refused); start it (npm start) or point --url / NODEAGG_URL at it\n`,
      );
    }
  });

  test.each([
    [
      ['post', 'web-1', '--cpu', '200', '--mem', '1'],
      /^error: option '--cpu <pct>' argument '200' is invalid\. Expected a number from 0 to 100\. \(see --help\)\n$/,
    ],
    [
      ['post', 'bad name!', '--cpu', '1', '--mem', '1'],
      /^error: command-argument value 'bad name!' is invalid for argument 'node'\. A node name is 1-253 characters/,
    ],
    [['post', 'web-1', '--cpu', '1'], /^error: a node sample needs both --cpu <pct> and --mem <pct>/],
    [
      ['post', 'web-1', '--process', 'nginx', '--cpu', '1', '--mem', '1'],
      /^error: a process sample takes --cpu-used and --mem-used, not --cpu\/--mem\n$/,
    ],
    [['average', '--timeslice', 'abc'], /^error: option '--timeslice <s>' argument 'abc' is invalid/],
    [['load', '--duration', 'soon'], /^error: option '--duration <time>' argument 'soon' is invalid\. Expected a duration like 30s/],
    [['frobnicate'], /^error: unknown command 'frobnicate' \(see --help\)\n$/],
    [['average', '--bogus'], /^error: unknown option '--bogus' \(see --help\)\n$/],
  ])('bad input %j: exit 2, nothing sent', async (args, message) => {
    let requests = 0;
    const server = createServer((_req, res) => void ((requests += 1), res.writeHead(500).end()));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const result = await runCli(['--url', `http://127.0.0.1:${(server.address() as AddressInfo).port}`, ...args]).finally(() =>
      server.close(),
    );
    expect(requests).toBe(0);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(message);
    expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
  });

  test('a bad --url is bad input', async () => {
    const result = await runCli(['--url', 'localhost:8080', 'average']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^error: --url must be an http:\/\/ or https:\/\/ URL/);
  });

  test("4xx: exit 1 with the service's code and message", async () => {
    const missing = await run('process', 'no-such-process');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe(
      'error: the service answered 404 PROCESS_NOT_FOUND: No sample of process "no-such-process" in the last 60 s of its history.\n',
    );
    const old = await run('post', 'web-1', '--cpu', '1', '--mem', '1', '--at', '2000-01-01T00:00:00Z');
    expect(old.code).toBe(1);
    expect(old.stderr).toMatch(/^error: the service answered 422 VALIDATION_FAILED: .+ \(at: .+\)\n$/);
    const node = await run('node', 'never-seen');
    expect(node.code).toBe(1);
    expect(node.stderr).toMatch(/^error: the service answered 404 NODE_NOT_FOUND: /);
  });
});

describe('options', () => {
  test('NODEAGG_URL stands in for --url', async () => {
    const result = await runCli(['average', '--json'], { NODEAGG_URL: url });
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toHaveProperty('cpu_used');
  });

  test('--token and NODEAGG_TOKEN are sent as a bearer token', async () => {
    const seen: IncomingHttpHeaders[] = [];
    const server = createServer((req, res) => {
      seen.push(req.headers);
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"timeslice":0,"cpu_used":null,"mem_used":null}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const fake = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      expect((await runCli(['average', '--url', fake, '--token', 's3cret'])).stdout).toBe('no node samples yet: the fleet is empty\n');
      await runCli(['average', '--url', fake], { NODEAGG_TOKEN: 'from-env' });
      await runCli(['average', '--url', fake]);
    } finally {
      server.close();
    }
    expect(seen.map((h) => h.authorization)).toEqual(['Bearer s3cret', 'Bearer from-env', undefined]);
  });

  test('--version prints the package version', async () => {
    const { version } = JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8')) as { version: string };
    expect(await runCli(['--version'])).toEqual({ code: 0, stdout: `${version}\n`, stderr: '' });
  });

  test('--help on every command, exit 0', async () => {
    const commands = [
      [],
      ['post'],
      ['average'],
      ['processes'],
      ['process'],
      ['nodes'],
      ['node'],
      ['status'],
      ['dlq'],
      ['dlq', 'list'],
      ['dlq', 'replay'],
      ['dlq', 'purge'],
      ['agent'],
      ['load'],
    ];
    const results = await Promise.all(commands.map((c) => runCli([...c, '--help'])));
    results.forEach((result, i) => {
      expect({ command: commands[i], code: result.code }).toEqual({ command: commands[i], code: 0 });
      expect(result.stdout).toMatch(/^Usage: nodeagg/);
      if (commands[i]!.length > 0) expect(result.stdout).toContain('--url <url>');
    });
  });
});

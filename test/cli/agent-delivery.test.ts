/** The agent posting for real: its batches reach the aggregates, and an outage is buffered, retried and counted exactly once. */
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { freePort } from '../../launcher/free-port';
import type { RedisClient } from '../../shared/redis';
import { perNodeCounts } from '../support/aggregate-totals';
import { waitForDrained } from '../support/stream-drain';
import { startPipeline, type TestPipeline } from '../support/pipeline';
import { testConfig, testRedis } from '../support/test-config';
import { runCli, startCli, waitFor } from '../support/run-cli';

interface Reading {
  node: string;
  cpu: number;
  mem: number;
  processes: { name: string }[];
}

const readings = (stdout: string): Reading[] =>
  stdout
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Reading);

describe('agent', () => {
  let port: number;
  let pipeline: TestPipeline | undefined;
  let redis: RedisClient;
  const config = () => pipeline!.config;

  beforeAll(async () => {
    port = await freePort();
  });
  afterAll(async () => {
    await redis?.quit();
    await pipeline?.stop();
  });

  test('--once against a service that is down: exit 3, one line', async () => {
    const result = await runCli(['agent', '--once', '--interval', '0.2', '--url', `http://127.0.0.1:${port}`]);
    expect(result.code).toBe(3);
    expect(result.stderr).toBe(
      `error: cannot reach the service at http://127.0.0.1:${port} (connection refused); start it (npm start) or point --url / NODEAGG_URL at it\n`,
    );
  });

  test('an outage is buffered and retried; after Ctrl-C every reading is counted exactly once', async () => {
    const node = `agent-${randomBytes(3).toString('hex')}`;
    const agent = startCli(['agent', '--json', '--interval', '0.25', '--top', '3', '--node', node, '--url', `http://127.0.0.1:${port}`]);
    // Readings pile up while nothing listens on the port.
    await waitFor(
      () => readings(agent.stdout()).length >= 3 && /delivery failed: cannot reach/.test(agent.stderr()),
      10_000,
      'buffered readings',
    );

    pipeline = await startPipeline(testConfig({ INGEST_PORT: String(port) }));
    redis = testRedis(config());
    await redis.connect();
    // The retry (with backoff) gets through without any help.
    await waitFor(() => /delivered: the service is accepting again/.test(agent.stderr()), 15_000, 'the retry to succeed');

    agent.child.kill('SIGINT');
    expect(await agent.exited).toBe(0);
    expect(agent.stderr()).not.toMatch(/not delivered|dropped/);
    const taken = readings(agent.stdout());
    expect(taken.every((r) => r.node === node && r.cpu >= 0 && r.cpu <= 100 && r.mem > 0 && r.mem <= 100)).toBe(true);
    expect(taken.some((r) => r.processes.length > 0)).toBe(process.platform === 'linux');

    await waitForDrained(redis, config().keyPrefix, config().streamPartitions, config().consumerGroup, 15_000);
    const counts = await perNodeCounts(redis, config().keyPrefix, config().streamPartitions, [node]);
    expect(counts.get(node)).toBe(taken.length);
  });

  test('an answer lost after the append is retried with the same Idempotency-Key and counted once', async () => {
    const upstream = pipeline!.url;
    const keys: string[] = [];
    let drop = 2;
    // A proxy that forwards each batch, then loses the first answers (the service did append them).
    const proxy = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', async () => {
        const key = String(req.headers['idempotency-key']);
        keys.push(key);
        const answer = await fetch(`${upstream}${req.url}`, {
          method: req.method,
          headers: { 'content-type': String(req.headers['content-type']), 'idempotency-key': key },
          body: Buffer.concat(chunks),
        });
        const text = await answer.text();
        if (drop-- > 0) return void req.socket.destroy();
        res.writeHead(answer.status, { 'content-type': 'application/json' }).end(text);
      });
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    const node = `lost-${randomBytes(3).toString('hex')}`;
    const agent = startCli([
      'agent',
      '--json',
      '--interval',
      '0.25',
      '--top',
      '2',
      '--node',
      node,
      '--url',
      `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`,
    ]);
    try {
      await waitFor(
        () => /delivered: the service is accepting again/.test(agent.stderr()) && readings(agent.stdout()).length >= 3,
        15_000,
        'the retry to succeed',
      );
      agent.child.kill('SIGINT');
      expect(await agent.exited).toBe(0);
    } finally {
      proxy.close();
    }
    // The lost answers were retried under the same key: more requests than batches.
    expect(keys.length).toBeGreaterThan(new Set(keys).size);
    await waitForDrained(redis, config().keyPrefix, config().streamPartitions, config().consumerGroup, 15_000);
    const counts = await perNodeCounts(redis, config().keyPrefix, config().streamPartitions, [node]);
    expect(counts.get(node)).toBe(readings(agent.stdout()).length);
  });

  test('--once posts a node sample and its top processes', async () => {
    const node = `once-${randomBytes(3).toString('hex')}`;
    const url = pipeline!.url;
    const result = await runCli(['agent', '--once', '--json', '--interval', '0.3', '--top', '2', '--node', node, '--url', url]);
    expect(result.code).toBe(0);
    const [reading] = readings(result.stdout);
    await waitForDrained(redis, config().keyPrefix, config().streamPartitions, config().consumerGroup, 15_000);
    const detail = await runCli(['node', node, '--json', '--url', url]);
    expect(detail.code).toBe(0);
    const body = JSON.parse(detail.stdout);
    expect(body.latest.cpu).toBeCloseTo(reading!.cpu, 5);
    expect(body.latest.mem).toBeCloseTo(reading!.mem, 5);
    expect(body.processes.map((p: { name: string }) => p.name).sort()).toEqual(reading!.processes.map((p) => p.name).sort());
  });
});

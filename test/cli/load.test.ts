/** `nodeagg load`: exact accounting (offered = accepted + rejected) and the aggregates count exactly the accepted. */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ApiClient, ApiResponse } from '../../cli/api-client';
import { runOpenLoop, type LoadReport } from '../../cli/load/open-loop';
import { SyntheticFleet } from '../../cli/load/synthetic-fleet';
import { distribution } from '../../cli/load/percentile';
import type { RedisClient } from '../../shared/redis';
import { fleetTotals } from '../support/aggregate-totals';
import { waitForDrained } from '../support/stream-drain';
import { pipelineWithClient, type TestPipeline } from '../support/pipeline';
import { testConfig } from '../support/test-config';
import { processSampleCount } from '../support/process-totals';
import { runCli } from '../support/run-cli';

const sum = (counts: Record<string, number>) => Object.values(counts).reduce((a, b) => a + b, 0);

function expectBalanced(report: LoadReport): void {
  const s = report.samples;
  expect(s.offered).toBe(s.accepted + s.rejected);
  expect(s.rejected).toBe(sum(s.rejected_by_status));
  expect(s.sent).toBe(s.offered - (s.rejected_by_status['not-sent'] ?? 0));
  expect(s.accepted).toBe(s.accepted_node_samples + s.accepted_process_samples);
}

describe('synthetic fleet', () => {
  test('node and process samples are counted per slice, across the wrap of the cycle', () => {
    const fleet = new SyntheticFleet({ nodes: 3, processes: 2, timeslice: 10, prefix: 'f' });
    const slices = [4, 5, 7, 2].map((n) => fleet.next(n));
    const items = slices.flatMap((s) => JSON.parse(s.body) as { process?: string }[]);
    expect(items).toHaveLength(18);
    slices.forEach((s) =>
      expect(s.nodeSamples).toBe((JSON.parse(s.body) as { process?: string }[]).filter((i) => i.process === undefined).length),
    );
    expect(items.slice(0, 9)).toEqual(items.slice(9));
  });

  test('percentiles are nearest-rank', () => {
    expect(distribution([5, 1, 4, 2, 3])).toEqual({ count: 5, p50: 3, p99: 5, max: 5 });
    expect(distribution([])).toEqual({ count: 0, p50: null, p99: null, max: null });
  });
});

describe('against the pipeline', () => {
  const config = testConfig({ STREAM_PARTITIONS: '3' });
  const setup = pipelineWithClient(() => config);
  let pipeline: TestPipeline;
  let redis: RedisClient;
  beforeAll(() => ({ pipeline, redis } = setup));

  test('a short run: offered = accepted + rejected, and the aggregates hold exactly the accepted', async () => {
    const result = await runCli([
      '--url',
      pipeline.url,
      '--json',
      'load',
      '--nodes',
      '20',
      '--rate',
      '600',
      '--duration',
      '2s',
      '--batch',
      '50',
      '--processes',
      '2',
      '--freshness-every',
      '100ms',
    ]);
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout) as LoadReport;
    expect(report.samples.offered).toBe(1200);
    expectBalanced(report);
    expect(report.samples.accepted).toBe(1200);
    expect(report.samples.accepted_node_samples).toBe(400);
    expect(report.latency_ms.count).toBe(report.requests.sent);
    expect(report.sent_late_ms.count).toBe(report.requests.sent);
    expect(report.freshness_ms.count).toBeGreaterThan(0);

    await waitForDrained(redis, config.keyPrefix, 3, config.consumerGroup, 15_000);
    expect((await fleetTotals(redis, config.keyPrefix, 3)).samples).toBe(report.samples.accepted_node_samples);
    expect(await processSampleCount(redis, config.keyPrefix, 3)).toBe(report.samples.accepted_process_samples);
  });

  test('the human report names every figure', async () => {
    const result = await runCli([
      '--url',
      pipeline.url,
      'load',
      '--nodes',
      '5',
      '--rate',
      '100',
      '--duration',
      '1s',
      '--batch',
      '20',
      '--processes',
      '0',
    ]);
    expect(result.code).toBe(0);
    for (const label of ['target', 'offered', 'sent', 'accepted', 'rejected', 'achieved', 'latency', 'sent late', 'freshness']) {
      expect(result.stdout).toMatch(new RegExp(`^${label}\\s+\\S`, 'm'));
    }
    expect(result.stdout).toMatch(/^offered\s+100 samples$/m);
  });
});

describe("the generator's own lateness", () => {
  test('a generator held up reports how late it sent, and counts it in latency', async () => {
    const answered: ApiResponse = { status: 202, body: { token: '0_1-0' } } as ApiResponse;
    const client = { send: () => Promise.resolve(answered) } as unknown as ApiClient;
    const blockedMs = 300;
    // A batch is due every 10 ms; 150 ms in, the event loop is held for 300 ms.
    setTimeout(() => {
      const until = Date.now() + blockedMs;
      while (Date.now() < until);
    }, 150);
    const report = await runOpenLoop(client, {
      nodes: 10,
      processes: 1,
      timeslice: 10,
      prefix: 'late',
      rate: 1000,
      durationMs: 800,
      batch: 10,
      maxInFlight: 256,
      lingerMs: 100,
      freshnessEveryMs: 0,
      requestTimeoutMs: 1000,
    });
    expect(report.sent_late_ms.count).toBe(report.requests.sent);
    // The batches due while it was held left up to that late; latency counts from when they were due.
    expect(report.sent_late_ms.max!).toBeGreaterThanOrEqual(blockedMs - 60);
    expect(report.latency_ms.max!).toBeGreaterThanOrEqual(report.sent_late_ms.max!);
  });
});

describe('open loop against a struggling server', () => {
  test('rejections by status and batches over --max-in-flight are counted, and the offered rate holds', async () => {
    let requests = 0;
    const server = createServer((req, res) => {
      req.resume();
      if (req.url === '/health') return void res.writeHead(200, { 'content-type': 'application/json' }).end('{"alive":true}');
      requests += 1;
      // Slow, and every other batch refused: an open-loop generator keeps its timetable anyway.
      const n = requests;
      setTimeout(() => {
        if (n % 2 === 0)
          res
            .writeHead(503, { 'content-type': 'application/json', 'retry-after': '1' })
            .end('{"error":{"code":"BACKPRESSURE","message":"busy"}}');
        else res.writeHead(202, { 'content-type': 'application/json' }).end('{"accepted":1,"ids":[],"token":"0_1-0"}');
      }, 150);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const result = await runCli([
        '--url',
        url,
        '--json',
        'load',
        '--nodes',
        '10',
        '--rate',
        '200',
        '--duration',
        '1s',
        '--batch',
        '10',
        '--max-in-flight',
        '2',
        '--freshness-every',
        '0',
      ]);
      expect(result.code).toBe(0);
      const report = JSON.parse(result.stdout) as LoadReport;
      expect(report.samples.offered).toBe(200);
      expectBalanced(report);
      expect(report.samples.rejected_by_status['not-sent']).toBeGreaterThan(0);
      expect(report.samples.rejected_by_status['503']).toBeGreaterThan(0);
      expect(report.requests.sent).toBe(requests);
    } finally {
      server.close();
    }
  });
});

/**
 * Valid large inputs never wedge a partition (issue: one request of 3,000 processes, or a
 * backlog of ~16,000 distinct nodes, made the worker throw on every retry). Each case must
 * drain, count every sample exactly, and leave the partitions flowing: a plain sample
 * posted afterwards is visible through ?after= within the consistency wait.
 */
import { partitionOf } from '../../shared/partition';
import type { RedisClient } from '../../shared/redis';
import { startIngest, type RunningIngest } from '../../ingest/server';
import { startWorker, type RunningWorker } from '../../worker/server';
import { waitForDrained } from '../support/stream-drain';
import { baseTime } from '../support/build-sample';
import { postJson, request } from '../support/fetch-json';
import type { RawNodeSample, RawProcessSample } from '../support/reference-model';
import { SentLedger } from '../support/sent-ledger';
import { deletePrefix, quietLogger, testConfig, testRedis } from '../support/test-config';

const PARTITIONS = 4;
const DRAIN_MS = 120_000;

describe('large valid inputs are aggregated exactly', () => {
  // A long command timeout: on a busy machine a slow reply is not the fault under test.
  const config = testConfig({ STREAM_PARTITIONS: String(PARTITIONS), WORKER_BLOCK_MS: '200', REDIS_COMMAND_TIMEOUT_MS: '10000' });
  let redis: RedisClient;
  let ingest: RunningIngest;
  let worker: RunningWorker | undefined;
  let ledger: SentLedger;

  beforeAll(async () => {
    redis = testRedis(config);
    await redis.connect();
    ingest = await startIngest(config, quietLogger);
  });
  afterAll(async () => {
    await worker?.close();
    await ingest.close();
    await deletePrefix(redis, config.keyPrefix);
    await redis.quit();
  });
  beforeEach(() => {
    ledger = new SentLedger(config.keyPrefix, PARTITIONS);
  });

  async function post(nodes: RawNodeSample[], processes: RawProcessSample[]): Promise<string> {
    const items = [...nodes, ...processes];
    const response = await postJson(`${ingest.url}/v1/samples`, items);
    expect(response.status).toBe(202);
    nodes.forEach((s) => ledger.node(s));
    processes.forEach((s) => ledger.process(s));
    return response.body.token as string;
  }

  /** Drains, compares every sample, then shows a plain sample on every partition flows through. */
  async function expectExactAndFlowing(): Promise<void> {
    await waitForDrained(redis, config.keyPrefix, PARTITIONS, config.consumerGroup, DRAIN_MS);
    expect(await ledger.mismatches(redis)).toEqual([]);
    const t = baseTime() + 60_000;
    const plain: RawNodeSample[] = [];
    for (let i = 0; plain.length < PARTITIONS; i++) {
      const node = `plain-${i}`;
      if (!plain.some((s) => partitionOf(s.node, PARTITIONS) === partitionOf(node, PARTITIONS))) {
        plain.push({ node, at: t, timeslice: 1, cpu: 42, mem: 7 });
      }
    }
    const token = await post(plain, []);
    for (const s of plain) {
      const seen = await request(`${ingest.url}/v1/nodes/${s.node}?after=${token}`);
      expect(seen.status).toBe(200);
      expect(seen.body.latest.cpu).toBe(42);
    }
  }

  test('3,000 processes on one node in one POST', async () => {
    worker = await startWorker(config, quietLogger);
    const t = baseTime();
    const node: RawNodeSample = { node: 'wide-node', at: t, timeslice: 10, cpu: 55, mem: 44 };
    const processes = Array.from({ length: 3000 }, (_, i) => ({
      node: 'wide-node',
      process: `proc-${i}`,
      at: t - (i % 7) * 1000,
      timeslice: 1 + (i % 5),
      cpu_used: (i * 13) % 100,
      mem_used: 1000 + i,
    }));
    await post([node], processes);
    await expectExactAndFlowing();
  }, 180_000);

  test('10,000-item batches of distinct nodes with their processes', async () => {
    worker ??= await startWorker(config, quietLogger);
    const t = baseTime() - 120_000;
    for (let batch = 0; batch < 3; batch++) {
      const nodes: RawNodeSample[] = [];
      const processes: RawProcessSample[] = [];
      for (let i = 0; nodes.length + processes.length < 10_000; i++) {
        const node = `batch${batch}-node-${i}`;
        nodes.push({ node, at: t - (i % 11) * 1000, timeslice: 5, cpu: (i * 7) % 100, mem: (i * 3) % 100 });
        for (let p = 0; p < 3; p++) {
          processes.push({ node, process: `svc-${(i + p) % 40}`, at: t - (i % 11) * 1000, timeslice: 5, cpu_used: p + 1, mem_used: i });
        }
      }
      await post(nodes, processes);
    }
    await expectExactAndFlowing();
  }, 240_000);

  test('a backlog of 25,000 distinct nodes met by a freshly started worker', async () => {
    await worker?.close();
    worker = undefined;
    const t = baseTime() - 240_000;
    let sent = 0;
    for (let batch = 0; sent < 25_000; batch++) {
      const nodes = Array.from({ length: Math.min(10_000, 25_000 - sent) }, (_, i) => ({
        node: `backlog-${sent + i}`,
        at: t - ((sent + i) % 13) * 1000,
        timeslice: 2,
        cpu: (i * 11) % 100,
        mem: (i * 17) % 100,
      }));
      await post(nodes, []);
      sent += nodes.length;
    }
    worker = await startWorker(config, quietLogger);
    await expectExactAndFlowing();
  }, 240_000);
});

/**
 * A stuck partition is visible and heals itself. A worker reads entries and then loses
 * Redis before it can apply them: its /livez fails once it has held them without progress
 * for PARTITION_STALL_AFTER_MS (Kubernetes restarts it), /metrics and /v1/pipeline show the
 * partition stalled with its oldest pending age, another worker takes the entries over and
 * counts every sample once, and the stall clears.
 */
import { loadConfig } from '../../shared/config';
import { startPrivateRedis, type PrivateRedis } from '../../launcher/private-redis';
import { createRedisClient, type RedisClient } from '../../shared/redis';
import { partitionKeys } from '../../shared/store/keys';
import { startIngest, type RunningIngest } from '../../ingest/server';
import { startWorker, type RunningWorker } from '../../worker/server';
import { waitForDrained } from '../support/stream-drain';
import { baseTime } from '../support/build-sample';
import { postJson, request } from '../support/fetch-json';
import type { RawNodeSample } from '../support/reference-model';
import { SentLedger } from '../support/sent-ledger';
import { quietLogger, testEnv } from '../support/test-config';
import { waitUntil } from '../support/wait-until';
import { TcpProxy, TRANSACTION_ON_STREAM } from '../support/tcp-proxy';

const PARTITIONS = 4;

describe('a stuck partition', () => {
  let redisServer: PrivateRedis;
  let proxy: TcpProxy;
  let ingest: RunningIngest;
  let owner: RunningWorker | undefined;
  let helper: RunningWorker | undefined;
  let admin: RedisClient;
  const env = testEnv({
    STREAM_PARTITIONS: String(PARTITIONS),
    PARTITION_STALL_AFTER_MS: '1500',
    MAINTENANCE_INTERVAL_MS: '200',
    REDIS_COMMAND_TIMEOUT_MS: '500',
    WORKER_CLAIM_INTERVAL_MS: '200',
  });

  beforeAll(async () => {
    redisServer = await startPrivateRedis();
    proxy = await TcpProxy.start(redisServer.port);
    const direct = loadConfig({ ...env, REDIS_URL: redisServer.url });
    ingest = await startIngest(direct, quietLogger);
    admin = createRedisClient(direct, { connectionName: 'stuck-partition-test' });
    await admin.connect();
  });
  afterAll(async () => {
    proxy.restore();
    await helper?.close();
    await owner?.close();
    await ingest.close();
    await admin.quit();
    await proxy.close();
    await redisServer.destroy();
  });

  const livez = async (worker: RunningWorker) => (await request(`${worker.healthUrl}/livez`)).status;
  const stalledGauge = async (worker: RunningWorker, partition: number) => {
    const text = (await request(`${worker.healthUrl}/metrics`)).body as string;
    const match = new RegExp(`nodeagg_partition_stalled\\{partition="${partition}"\\} (\\d)`).exec(text);
    return match ? Number(match[1]) : null;
  };

  test("fails the owner's liveness, shows on /metrics and /v1/pipeline, and is taken over by another worker", async () => {
    const { consumerGroup } = loadConfig(env);
    // The owner reaches Redis through a proxy that goes dark when it sends its first apply.
    owner = await startWorker(loadConfig({ ...env, REDIS_URL: proxy.url, WORKER_CONSUMER_NAME: 'owner-a' }), quietLogger);
    expect(await livez(owner)).toBe(200);
    const cut = proxy.cutOnCommand(TRANSACTION_ON_STREAM, 'hold');
    const ledger = new SentLedger(env.KEY_PREFIX!, PARTITIONS);
    const t = baseTime();
    const items: RawNodeSample[] = Array.from({ length: 400 }, (_, i) => ({
      node: `stuck-${i}`,
      at: t - (i % 9) * 1000,
      timeslice: 3,
      cpu: i % 100,
      mem: 5,
    }));
    expect((await postJson(`${ingest.url}/v1/samples`, items)).status).toBe(202);
    items.forEach((s) => ledger.node(s));
    await cut.fired;

    const heldByOwner = async () => {
      const held: number[] = [];
      for (let p = 0; p < PARTITIONS; p++) {
        const own = (await admin.xpending(
          partitionKeys(env.KEY_PREFIX!, p, PARTITIONS).stream,
          consumerGroup,
          '-',
          '+',
          1,
          'owner-a',
        )) as unknown[];
        if (own.length > 0) held.push(p);
      }
      return held;
    };
    const stuck = await heldByOwner();
    expect(stuck.length).toBeGreaterThan(0);

    // The owner's loop still runs, but it holds entries without progress: not alive.
    await waitUntil(async () => (await livez(owner!)) === 503, 15_000, 100);

    // A second worker (slow to claim, so the stall is seen first) records the figures.
    helper = await startWorker(
      loadConfig({ ...env, REDIS_URL: redisServer.url, WORKER_CONSUMER_NAME: 'helper-b', WORKER_CLAIM_IDLE_MS: '8000' }),
      quietLogger,
    );
    await waitUntil(async () => (await stalledGauge(helper!, stuck[0]!)) === 1, 30_000, 100);
    const view = await request(`${ingest.url}/v1/pipeline`);
    const partition = view.body.partitions.find((p: { partition: number }) => p.partition === stuck[0]);
    expect(partition.stalled).toBe(true);
    expect(partition.oldest_pending_age_ms).toBeGreaterThanOrEqual(1500);
    expect(partition.consumers).toEqual(
      expect.arrayContaining([expect.objectContaining({ name: 'owner-a', pending: expect.any(Number) })]),
    );

    // The helper takes the entries over once idle and counts every sample once.
    await waitForDrained(admin, env.KEY_PREFIX!, PARTITIONS, consumerGroup, 60_000);
    expect(await heldByOwner()).toEqual([]);
    expect(await ledger.mismatches(admin)).toEqual([]);
    await waitUntil(async () => (await stalledGauge(helper!, stuck[0]!)) === 0, 10_000, 100);
    expect(await livez(helper)).toBe(200);

    // The network heals: the owner finds nothing pending on it and is alive again.
    proxy.restore();
    await waitUntil(async () => (await livez(owner!)) === 200, 20_000, 100);
  }, 120_000);
});

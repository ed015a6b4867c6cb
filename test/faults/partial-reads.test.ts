/**
 * Reads never answer 200 with partial data: when the connection to Redis fails part-way
 * through a pipelined read, or one of its replies is an error, the answer is a 503.
 */
import { startPrivateRedis, type PrivateRedis } from '../../launcher/private-redis';
import { loadConfig } from '../../shared/config';
import { partitionKeys } from '../../shared/store/keys';
import { partitionOf } from '../../shared/partition';
import { createRedisClient, type RedisClient } from '../../shared/redis';
import { startIngest, type RunningIngest } from '../../ingest/server';
import { startWorker, type RunningWorker } from '../../worker/server';
import { baseTime } from '../support/build-sample';
import { postJson, request } from '../support/fetch-json';
import { quietLogger, testEnv } from '../support/test-config';
import { TcpProxy } from '../support/tcp-proxy';

const NODES = 1000;
/** A cpu value only one node has: its summary's reply is where the network is cut. */
const MARKED_CPU = 77.125;

describe('pipelined reads that fail part-way', () => {
  let redisServer: PrivateRedis;
  let proxy: TcpProxy;
  let ingest: RunningIngest;
  let worker: RunningWorker;
  let admin: RedisClient;
  const env = testEnv({ STREAM_PARTITIONS: '4', REDIS_COMMAND_TIMEOUT_MS: '1000' });

  beforeAll(async () => {
    redisServer = await startPrivateRedis();
    proxy = await TcpProxy.start(redisServer.port);
    const direct = loadConfig({ ...env, REDIS_URL: redisServer.url });
    worker = await startWorker(direct, quietLogger);
    ingest = await startIngest(loadConfig({ ...env, REDIS_URL: proxy.url }), quietLogger);
    admin = createRedisClient(direct, { connectionName: 'partial-reads-test' });
    await admin.connect();
    const t = baseTime();
    const items = Array.from({ length: NODES }, (_, i) => ({
      node: `reader-${String(i).padStart(4, '0')}`,
      at: t,
      timeslice: 1,
      cpu: i === 700 ? MARKED_CPU : 10,
      mem: 20,
    }));
    const posted = await postJson(`${ingest.url}/v1/samples`, items);
    expect(posted.status).toBe(202);
    const all = await request(`${ingest.url}/v1/nodes?limit=${NODES}&after=${posted.body.token}`);
    expect(all.status).toBe(200);
    expect(all.body.nodes.filter((n: { latest: unknown }) => n.latest !== null)).toHaveLength(NODES);
  }, 60_000);
  afterAll(async () => {
    await ingest.close();
    await worker.close();
    await admin.quit();
    await proxy.close();
    await redisServer.destroy();
  });

  test('a connection cut in the middle of the node list answers 503, then the full list once healed', async () => {
    // Summaries are binary: the marked node's reply holds the double's bytes (the proxy reads replies as latin1).
    const marked = Buffer.alloc(8);
    marked.writeDoubleLE(MARKED_CPU);
    const cut = proxy.cutOnReply(new RegExp(marked.toString('latin1').replace(/[\\^$.*+?()[\]{}|]/g, '\\$&')), 'refuse');
    const during = await request(`${ingest.url}/v1/nodes?limit=${NODES}`);
    expect(cut.hasFired).toBe(true);
    expect(during.status).toBe(503);
    expect(during.body.error.code).toBe('SERVICE_UNAVAILABLE');
    proxy.restore();
    let after = await request(`${ingest.url}/v1/nodes?limit=${NODES}`);
    for (let i = 0; i < 50 && after.status !== 200; i++) {
      await new Promise((r) => setTimeout(r, 100));
      after = await request(`${ingest.url}/v1/nodes?limit=${NODES}`);
    }
    expect(after.status).toBe(200);
    expect(after.body.nodes.filter((n: { latest: unknown }) => n.latest !== null)).toHaveLength(NODES);
  });

  test('one failed read among the partitions (a key of the wrong type) answers 503, not a row of nulls', async () => {
    const node = 'reader-0123';
    const summary = partitionKeys(env.KEY_PREFIX!, partitionOf(node, 4), 4).nodeSummaries;
    const saved = await admin.dumpBuffer(summary);
    await admin.set(summary, 'not a hash');
    const broken = await request(`${ingest.url}/v1/nodes?limit=${NODES}`);
    expect(broken.status).toBe(503);
    expect(broken.body.error.code).toBe('SERVICE_UNAVAILABLE');
    const detail = await request(`${ingest.url}/v1/nodes/${node}`);
    expect(detail.status).not.toBe(200);
    await admin.restore(summary, 0, saved!, 'REPLACE');
    expect((await request(`${ingest.url}/v1/nodes?limit=${NODES}`)).status).toBe(200);
  });
});

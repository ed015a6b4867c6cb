// REDIS_WAIT_REPLICAS=1 against a master with one replica: a 202 means the replica has the samples; without it, 503 REPLICATION_TIMEOUT, and a retry with the same Idempotency-Key once it is back counts once.
import { randomBytes } from 'node:crypto';
import { loadConfig } from '../../shared/config';
import { createRedisClient, type RedisClient } from '../../shared/redis';
import { partitionKeys } from '../../shared/store/keys';
import { SampleAppender, type AppendRequest } from '../../shared/store/sample-append';
import { startPrivateRedis, type PrivateRedis } from '../../launcher/private-redis';
import { startPrivateReplica, type PrivateReplica } from '../../launcher/private-replica';
import { perNodeCounts } from '../support/aggregate-totals';
import { Cleanup } from '../support/cleanup';
import { postJson, request, type JsonResponse } from '../support/fetch-json';
import { waitForStatus } from '../support/http-outcomes';
import { connectAdmin, entriesAdded } from '../support/redis-audit';
import { waitForDrained } from '../support/stream-drain';
import { startIngestProcess, startWorkerProcess } from '../support/service-processes';
import { SCRIPT_ON_STREAM, TcpProxy } from '../support/tcp-proxy';
import { metricValue } from '../support/metrics-text';

const PARTITIONS = 4;
const WAIT_TIMEOUT_MS = 300;

function batch(node: string, count: number, seed: number) {
  const at = Math.floor(Date.now() / 1000) * 1000 - 60_000;
  return Array.from({ length: count }, (_, i) => ({ node, at: at - i * 1000, timeslice: 1 + i, cpu: seed % 100, mem: i }));
}

function expectReplicationTimeout(response: JsonResponse): void {
  expect(response.status).toBe(503);
  expect(response.body.error.code).toBe('REPLICATION_TIMEOUT');
  expect(response.body.error.message).toMatch(/stored on the master.*same Idempotency-Key is safe/s);
  expect(response.headers.get('retry-after')).toBe('1');
}

async function metricOf(url: string, name: string): Promise<number | undefined> {
  return metricValue((await request(`${url}/metrics`)).body as string, name);
}

describe('ingest waiting for a replica (REDIS_WAIT_REPLICAS=1)', () => {
  let master: PrivateRedis;
  let replica: PrivateReplica;
  const cleanup = new Cleanup();

  beforeAll(async () => {
    master = await startPrivateRedis();
    replica = await startPrivateReplica(master);
  });
  afterEach(() => cleanup.run());
  afterAll(async () => {
    await replica.destroy();
    await master.destroy();
  });

  function envFor(label: string) {
    return {
      REDIS_URL: master.url,
      KEY_PREFIX: `${label}${randomBytes(3).toString('hex')}`,
      STREAM_PARTITIONS: String(PARTITIONS),
      LOG_LEVEL: 'silent',
      REDIS_COMMAND_TIMEOUT_MS: '500',
      REDIS_WAIT_REPLICAS: '1',
      REDIS_WAIT_TIMEOUT_MS: String(WAIT_TIMEOUT_MS),
      WORKER_BLOCK_MS: '100',
    };
  }

  async function clientOf(url: string, env: Record<string, string>): Promise<RedisClient> {
    const client = createRedisClient(loadConfig({ ...env, REDIS_URL: url }), {
      connectionName: 'replica-wait-test',
      commandTimeoutMs: 15_000,
    });
    await client.connect();
    cleanup.add(() => client.quit());
    return client;
  }

  test('a 202 means the replica already holds the samples: every entry a 202 names is read back from the replica at once', async () => {
    const env = envFor('waitok');
    const ingest = await startIngestProcess(env);
    cleanup.add(() => ingest.kill());
    const fromReplica = await clientOf(replica.url, env);

    const missing: string[] = [];
    let accepted = 0;
    const poster = async (index: number) => {
      for (let i = 0; i < 15; i++) {
        const response = await postJson(`${ingest.url}/v1/samples`, batch(`wait-${index}-${i % 5}`, 5, index * 100 + i), {
          'Idempotency-Key': `ok-${index}-${i}`,
        });
        expect(response.status).toBe(202);
        accepted++;
        // Read at once, no retry: WAIT returned only after the replica acknowledged the write.
        for (const pair of String(response.body.token).split('.')) {
          const [partition, id] = pair.split('_');
          const found = await fromReplica.xrange(partitionKeys(env.KEY_PREFIX, Number(partition), PARTITIONS).stream, id!, id!);
          if (found.length !== 1) missing.push(`${pair} of request ${index}/${i}`);
        }
      }
    };
    await Promise.all([0, 1, 2, 3].map(poster));

    expect(accepted).toBe(60);
    expect(missing).toEqual([]);
    expect(await metricOf(ingest.url, 'nodeagg_replication_timeouts_total')).toBe(0);
    expect(await metricOf(ingest.url, 'nodeagg_redis_wait_replicas')).toBe(1);
    const pipeline = await request(`${ingest.url}/v1/pipeline`);
    expect(pipeline.body.replication).toEqual({ wait_replicas: 1, wait_timeout_ms: WAIT_TIMEOUT_MS });
  }, 60_000);

  test('after the master lost its scripts (SCRIPT FLUSH), a write waiting for its replica loads the script again: 202, on the replica, appended once', async () => {
    const env = envFor('waitflush');
    const admin = await connectAdmin(loadConfig(env));
    cleanup.add(() => admin.quit());
    const ingest = await startIngestProcess(env);
    cleanup.add(() => ingest.kill());
    const fromReplica = await clientOf(replica.url, env);

    // The first write runs the script on ingest's connection; after the flush that connection
    // asks for it by its SHA and is answered NOSCRIPT (nothing ran, and WAIT waited for nothing).
    expect((await postJson(`${ingest.url}/v1/samples`, batch('flush-before', 3, 1), { 'Idempotency-Key': 'flush-1' })).status).toBe(202);
    await admin.script('FLUSH');
    const after = await postJson(`${ingest.url}/v1/samples`, batch('flush-after', 3, 2), { 'Idempotency-Key': 'flush-2' });

    expect(after.status).toBe(202);
    expect(after.body.accepted).toBe(3);
    const [partition, id] = String(after.body.token).split('_');
    expect(await fromReplica.xrange(partitionKeys(env.KEY_PREFIX, Number(partition), PARTITIONS).stream, id!, id!)).toHaveLength(1);
    expect(await entriesAdded(admin, env.KEY_PREFIX, PARTITIONS)).toBe(2);
    expect(await metricOf(ingest.url, 'nodeagg_replication_timeouts_total')).toBe(0);
  }, 60_000);

  test('without its replica ingest answers 503 REPLICATION_TIMEOUT (the samples are on the master); once it is back a retry with the same key is answered 202 and every sample counts once', async () => {
    const env = envFor('waitdown');
    const config = loadConfig(env);
    const admin = await connectAdmin(config);
    cleanup.add(() => admin.quit());
    const ingest = await startIngestProcess(env);
    cleanup.add(() => ingest.kill());
    const worker = await startWorkerProcess(env, 'wait-down-worker');
    cleanup.add(() => worker.kill());

    const keyed = batch('down-keyed', 6, 1);
    const unkeyed = batch('down-unkeyed', 1, 2);
    await replica.stop('SIGKILL');
    cleanup.add(async () => {
      if (replica.process.exitCode !== null || replica.process.signalCode !== null) await replica.restart();
      await replica.waitUntilInSync();
    });

    const first = await postJson(`${ingest.url}/v1/samples`, keyed, { 'Idempotency-Key': 'down-1' });
    expectReplicationTimeout(first);
    expectReplicationTimeout(await postJson(`${ingest.url}/v1/samples`, unkeyed));
    // What the message says: stored on the master (one entry per request, no group shared them).
    expect(await entriesAdded(admin, env.KEY_PREFIX, PARTITIONS)).toBe(2);
    // A retry while the replica is still away: nothing appended, still not confirmed.
    expectReplicationTimeout(await postJson(`${ingest.url}/v1/samples`, keyed, { 'Idempotency-Key': 'down-1' }));
    expect(await entriesAdded(admin, env.KEY_PREFIX, PARTITIONS)).toBe(2);
    expect(await metricOf(ingest.url, 'nodeagg_replication_timeouts_total')).toBe(3);

    await replica.restart();
    await replica.waitUntilInSync();
    const retry = await postJson(`${ingest.url}/v1/samples`, keyed, { 'Idempotency-Key': 'down-1' });
    expect(retry.status).toBe(202);
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    expect(retry.body.accepted).toBe(keyed.length);

    await waitForDrained(admin, env.KEY_PREFIX, PARTITIONS, config.consumerGroup, 30_000);
    const counts = await perNodeCounts(admin, env.KEY_PREFIX, PARTITIONS, ['down-keyed', 'down-unkeyed']);
    expect(Object.fromEntries(counts)).toEqual({ 'down-keyed': keyed.length, 'down-unkeyed': unkeyed.length });
    expect(await entriesAdded(admin, env.KEY_PREFIX, PARTITIONS)).toBe(2);
  }, 60_000);

  test('a write whose reply is lost and that is found stored is answered 503 REPLICATION_TIMEOUT, not 202: no WAIT confirmed it', async () => {
    const env = envFor('waitlost');
    const config = loadConfig(env);
    const admin = await connectAdmin(config);
    cleanup.add(() => admin.quit());
    const proxy = await TcpProxy.start(master.port);
    cleanup.add(() => proxy.close());
    const ingest = await startIngestProcess({ ...env, REDIS_URL: proxy.url });
    cleanup.add(() => ingest.kill());
    const worker = await startWorkerProcess(env, 'wait-lost-worker');
    cleanup.add(() => worker.kill());

    // The first call on a connection sends the script's source (EVAL); the dropped one must be an
    // EVALSHA. Keyed, so it goes through the script (a group without keys is a transaction).
    expect((await postJson(`${ingest.url}/v1/samples`, batch('lost-warm-up', 1, 4), { 'Idempotency-Key': 'lost-warm-up' })).status).toBe(
      202,
    );
    const keyed = batch('lost-keyed', 4, 3);
    const trigger = proxy.dropRepliesFromCommand(SCRIPT_ON_STREAM);
    const answered = postJson(`${ingest.url}/v1/samples`, keyed, { 'Idempotency-Key': 'lost-1' });
    await trigger.fired;
    // The script reached Redis; its reply (and the WAIT's) is dropped. Then the connection resets.
    const deadline = Date.now() + 5000;
    while ((await entriesAdded(admin, env.KEY_PREFIX, PARTITIONS)) < 2) {
      if (Date.now() > deadline) throw new Error('the write whose reply was dropped never reached Redis');
      await new Promise((r) => setTimeout(r, 5));
    }
    proxy.cut('refuse');
    proxy.restore();
    expectReplicationTimeout(await answered);
    await waitForStatus(`${ingest.url}/readyz`, 200, 20_000);

    const retry = await postJson(`${ingest.url}/v1/samples`, keyed, { 'Idempotency-Key': 'lost-1' });
    expect(retry.status).toBe(202);
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    await waitForDrained(admin, env.KEY_PREFIX, PARTITIONS, config.consumerGroup, 30_000);
    const counts = await perNodeCounts(admin, env.KEY_PREFIX, PARTITIONS, ['lost-keyed']);
    expect(counts.get('lost-keyed')).toBe(keyed.length);
    expect(await entriesAdded(admin, env.KEY_PREFIX, PARTITIONS)).toBe(2);
    expect(await metricOf(ingest.url, 'nodeagg_replication_timeouts_total')).toBe(1);
  }, 60_000);

  test('a replay writes its records again unchanged, so that a WAIT after it on another connection covers what the first attempt stored', async () => {
    const env = envFor('waitreplay');
    const wait = { replicas: 1, timeoutMs: WAIT_TIMEOUT_MS };
    const first = new SampleAppender(await clientOf(master.url, env), env.KEY_PREFIX, PARTITIONS, wait);
    const other = new SampleAppender(await clientOf(master.url, env), env.KEY_PREFIX, PARTITIONS, wait);
    const request = (key: string): AppendRequest => ({
      parts: [{ partition: 0, lines: `N\t${key}\t1\t1\t1\t1` }],
      samples: 1,
      idempotency: { keyHash: key, fingerprint: 'f', ttlSeconds: 60 },
    });
    expect(await first.append('g0', [request('warm-up')])).toMatchObject({ outcomes: [{ kind: 'stored' }] });

    // A frozen replica keeps its link but confirms nothing more.
    replica.process.kill('SIGSTOP');
    cleanup.add(() => replica.process.kill('SIGCONT'));
    expect(await first.append('g1', [request('replay-1')])).toMatchObject({
      outcomes: [{ kind: 'unreplicated', stored: { replayed: false } }],
    });
    // `other` has written nothing before: on Redis 7.2+ only the replay's own write makes its
    // WAIT wait for the replica (7.0 counts any command of the connection, so it passes either way).
    const replayed = await other.append('g2', [request('replay-1')]);
    expect(replayed).toMatchObject({ outcomes: [{ kind: 'unreplicated', stored: { replayed: true } }] });
    replica.process.kill('SIGCONT');
    expect(await other.append('g3', [request('replay-1')])).toMatchObject({ outcomes: [{ kind: 'stored', replayed: true }] });

    const redis = await clientOf(master.url, env);
    const record = partitionKeys(env.KEY_PREFIX, 0, PARTITIONS).idempotency('replay-1');
    expect(await redis.get(record)).toMatch(/^f 1 \d+-\d+$/);
    const ttl = await redis.pttl(record);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(60_000);
    expect(await redis.xlen(partitionKeys(env.KEY_PREFIX, 0, PARTITIONS).stream)).toBe(2);
  });
});

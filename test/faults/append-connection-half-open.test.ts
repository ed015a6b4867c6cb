/**
 * Ingest appends on connections of their own. When one turns half-open (its commands reach
 * Redis, no reply comes back, nothing resets it), appends time out and ingest must not keep
 * using it; without that, every POST would answer 503 for as long as the socket lives.
 * - A keyed POST goes through the script on the append connection: after a few timeouts in a
 *   row ingest drops it and reconnects, as it does its other connection.
 * - A POST without a key goes in a transaction on a connection of the transaction's own: one
 *   timeout drops it; the POST is settled by its group id on the append connection (found
 *   stored: 202), and the next one goes on a new connection.
 */
import { startPrivateRedis, type PrivateRedis } from '../../launcher/private-redis';
import { allPartitionKeys } from '../../shared/store/keys';
import type { Config } from '../../shared/config';
import { postJson } from '../support/fetch-json';
import { startPipeline, type TestPipeline } from '../support/pipeline';
import { APPEND_ON_STREAM, TcpProxy } from '../support/tcp-proxy';
import { testConfig } from '../support/test-config';
import Redis from 'ioredis';

describe('a half-open append connection', () => {
  let redisServer: PrivateRedis;
  let proxy: TcpProxy;
  let pipeline: TestPipeline;
  let config: Config;
  let admin: Redis;

  beforeAll(async () => {
    redisServer = await startPrivateRedis();
    admin = new Redis(redisServer.port, '127.0.0.1');
    proxy = await TcpProxy.start(redisServer.port);
    config = testConfig({ REDIS_URL: proxy.url, REDIS_COMMAND_TIMEOUT_MS: '300' });
    pipeline = await startPipeline(config, { worker: false });
  });
  afterAll(async () => {
    await pipeline?.stop();
    await proxy?.close();
    admin?.disconnect();
    await redisServer?.destroy();
  });

  const post = (name: string, key?: string) =>
    postJson(
      `${pipeline.url}/v1/metrics/node/${name}`,
      { timeslice: 10, cpu: 10, mem: 10 },
      key === undefined ? {} : { 'Idempotency-Key': key },
    );
  const entries = async () => {
    let added = 0;
    for (const p of allPartitionKeys(config.keyPrefix, config.streamPartitions)) {
      const info = (await admin.xinfo('STREAM', p.stream).catch(() => ['entries-added', 0])) as unknown[];
      added += Number(info[info.indexOf('entries-added') + 1]);
    }
    return added;
  };

  test('keyed POSTs (the script) time out a few times, then the connection is replaced and they are stored again', async () => {
    expect((await post('half-open-0', 'k-0')).status).toBe(202);
    // From the next append on, that connection's replies are dropped (until it is closed).
    proxy.dropRepliesFromCommand(APPEND_ON_STREAM);
    const statuses: number[] = [];
    const deadline = Date.now() + 15_000;
    for (let i = 1; Date.now() < deadline && statuses[statuses.length - 1] !== 202; i++) {
      statuses.push((await post(`half-open-${i}`, `k-${i}`)).status);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(statuses[0]).toBe(503);
    expect(statuses[statuses.length - 1]).toBe(202);
    // A few timeouts, not one per attempt until the end.
    expect(statuses.length).toBeLessThan(40);
  });

  /** The ids of Redis's clients named as ingest's transaction connections. */
  const transactionClients = async () =>
    String(await admin.client('LIST'))
      .split('\n')
      .filter((line) => /\bname=\S*:tx\b/.test(line))
      .map((line) => /\bid=(\d+)/.exec(line)![1]);

  test('a POST without a key (the transaction) whose reply never comes is settled as stored, and the next goes on a new connection', async () => {
    expect((await post('tx-half-open-0')).status).toBe(202);
    const before = await entries();
    const [first, ...others] = await transactionClients();
    expect(others).toEqual([]);
    const trigger = proxy.dropRepliesFromCommand(APPEND_ON_STREAM);
    // Its transaction reached Redis; the reply did not come back: the group id finds its entry.
    expect((await post('tx-half-open-1')).status).toBe(202);
    expect(trigger.hasFired).toBe(true);
    expect((await post('tx-half-open-2')).status).toBe(202);
    expect(await entries()).toBe(before + 2);
    // The half-open connection was closed after its one timeout; another took its place.
    const now = await transactionClients();
    expect(now).toHaveLength(1);
    expect(now[0]).not.toBe(first);
  });
});

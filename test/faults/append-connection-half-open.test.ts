/**
 * Ingest appends on a connection of their own. When that connection turns half-open (its
 * commands reach Redis, no reply comes back, nothing resets it), appends time out; after a few
 * timeouts in a row ingest drops it and reconnects, as it does its other connection, and POSTs
 * are stored again. Without that, every POST would answer 503 for as long as the socket lives.
 */
import { startPrivateRedis, type PrivateRedis } from '../../launcher/private-redis';
import { postJson } from '../support/fetch-json';
import { startPipeline, type TestPipeline } from '../support/pipeline';
import { SCRIPT_ON_STREAM, TcpProxy } from '../support/tcp-proxy';
import { testConfig } from '../support/test-config';

describe('a half-open append connection', () => {
  let redisServer: PrivateRedis;
  let proxy: TcpProxy;
  let pipeline: TestPipeline;

  beforeAll(async () => {
    redisServer = await startPrivateRedis();
    proxy = await TcpProxy.start(redisServer.port);
    pipeline = await startPipeline(testConfig({ REDIS_URL: proxy.url, REDIS_COMMAND_TIMEOUT_MS: '300' }), { worker: false });
  });
  afterAll(async () => {
    await pipeline?.stop();
    await proxy?.close();
    await redisServer?.destroy();
  });

  test('times out a few POSTs, then reconnects and stores again', async () => {
    const post = (i: number) => postJson(`${pipeline.url}/v1/metrics/node/half-open-${i}`, { timeslice: 10, cpu: 10, mem: 10 });
    expect((await post(0)).status).toBe(202);
    // From the next append on, that connection's replies are dropped (until it is closed).
    proxy.dropRepliesFromCommand(SCRIPT_ON_STREAM);
    const statuses: number[] = [];
    const deadline = Date.now() + 15_000;
    for (let i = 1; Date.now() < deadline && statuses[statuses.length - 1] !== 202; i++) {
      statuses.push((await post(i)).status);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(statuses[0]).toBe(503);
    expect(statuses[statuses.length - 1]).toBe(202);
    // A few timeouts, not one per attempt until the end.
    expect(statuses.length).toBeLessThan(40);
  });
});

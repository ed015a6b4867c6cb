/** The workers' "applied" hints wake ingest's read-after-write waiter (one Redis; the cluster's in test/cluster/). */
import Redis from 'ioredis';
import { startIngest } from '../../ingest/server';
import { startWorker } from '../../worker/server';
import { startPrivateRedis, type PrivateRedis } from '../../launcher/private-redis';
import { capturingLogger } from '../support/capturing-logger';
import { hintsWakeTheWaiter } from '../support/applied-hints-scenario';
import { postJson, request } from '../support/fetch-json';
import { quietLogger, testConfig } from '../support/test-config';

test('an apply wakes the waiter subscribed to the hints, before its next poll', async () => {
  await hintsWakeTheWaiter(testConfig({ STREAM_PARTITIONS: '4' }));
}, 60_000);

describe('a Redis user without channel access', () => {
  let redis: PrivateRedis;
  beforeAll(async () => {
    redis = await startPrivateRedis();
  });
  afterAll(() => redis?.destroy());

  test('ingest warns once at start, workers apply as before, and ?after= answers through the poll', async () => {
    const admin = new Redis(redis.url);
    // Keys and commands, but no channel: SSUBSCRIBE and SPUBLISH are refused (NOPERM).
    await admin.acl('SETUSER', 'nochannels', 'on', '>secret', '~*', 'resetchannels', '+@all');
    await admin.quit();
    const config = testConfig({ REDIS_URL: `redis://nochannels:secret@127.0.0.1:${redis.port}`, STREAM_PARTITIONS: '2' });
    const lines: string[] = [];
    const logger = capturingLogger(lines, 'warn');
    const ingest = await startIngest(config, logger);
    const worker = await startWorker(config, quietLogger);
    try {
      const warnings = lines.filter((line) => line.includes("cannot subscribe to the workers' applied hints"));
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toContain('NOPERM');
      const posted = await postJson(`${ingest.url}/v1/metrics/node/hintless`, { timeslice: 10, cpu: 40, mem: 50 });
      expect(posted.status).toBe(202);
      const read = await request(`${ingest.url}/v1/analytics/nodes/average?timeslice=60&after=${encodeURIComponent(posted.body.token)}`);
      expect(read.status).toBe(200);
      expect(read.body.cpu_used).toBe(40);
    } finally {
      await worker.close();
      await ingest.close();
    }
  }, 60_000);
});

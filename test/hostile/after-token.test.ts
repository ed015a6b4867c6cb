/**
 * ?after= under attack (issue 9): a token with thousands of positions, a stream id Redis
 * cannot hold, thousands of concurrent waits. Work is counted in Redis commands on a
 * private redis-server (INFO commandstats), never in times.
 */
import { Writable } from 'node:stream';
import pino from 'pino';
import { startIngest, type RunningIngest } from '../../ingest/server';
import { startPrivateRedis, type PrivateRedis } from '../../launcher/private-redis';
import { createRedisClient, type RedisClient } from '../../shared/redis';
import { request } from '../support/fetch-json';
import { commandCounts, resetCommandStats, total } from '../support/redis-commands';
import { testConfig } from '../support/test-config';

const WAIT_MS = 2000;
/** A position far in the future: no entry reaches it, so every wait ends in 504. */
const futureToken = () => `0_${Date.now() + 1e9}-0`;

describe('?after= under attack', () => {
  let redisServer: PrivateRedis;
  let admin: RedisClient;
  let ingest: RunningIngest;
  const logLines: Record<string, unknown>[] = [];
  let capture: Writable;

  beforeAll(async () => {
    redisServer = await startPrivateRedis();
    const config = testConfig({
      REDIS_URL: redisServer.url,
      CONSISTENCY_WAIT_MS: String(WAIT_MS),
      BACKPRESSURE_REFRESH_MS: '60000', // keep the background reads out of the counts
      MAX_CONSISTENCY_WAITERS: '3100',
      LOG_LEVEL: 'info',
    });
    capture = new Writable({
      write(chunk, _encoding, done) {
        for (const line of String(chunk).split('\n')) if (line) logLines.push(JSON.parse(line) as Record<string, unknown>);
        done();
      },
    });
    ingest = await startIngest(config, pino({ level: 'info' }, capture));
    admin = createRedisClient(config, { connectionName: 'test-admin' });
    await admin.connect();
  });
  afterAll(async () => {
    await ingest.close();
    await admin.quit();
    await redisServer.destroy();
  });

  test('a token of 2,600 positions is 400 at the cost of no stream command', async () => {
    const token = Array.from({ length: 2600 }, (_, i) => `${i % 4}_1-${i % 10}`).join('.');
    await resetCommandStats(admin);
    const answer = await request(`${ingest.url}/v1/analytics/nodes/average?after=${token}`);
    const counts = await commandCounts(admin);
    expect(answer.status).toBe(400);
    expect(answer.body.error.code).toBe('INVALID_TOKEN');
    expect(answer.body.error.details[0].message).toMatch(/at most one position per partition/);
    // Before: 143,113 commands for this one request. Now no stream is read (the rest is background upkeep).
    expect((counts.xpending ?? 0) + (counts.xinfo ?? 0)).toBe(0);
    expect(total(counts)).toBeLessThan(10);
  });

  test('a partition named twice is 400', async () => {
    const answer = await request(`${ingest.url}/v1/nodes?after=0_1-0.0_2-0`);
    expect(answer.status).toBe(400);
    expect(answer.body.error.code).toBe('INVALID_TOKEN');
  });

  test.each(['0_1-99999999999999999999', '0_99999999999999999999-0', '0_18446744073709551616-0'])(
    'the stream id in %s does not fit in 64 bits: 400, never 500',
    async (token) => {
      const answer = await request(`${ingest.url}/v1/analytics/processes?after=${token}`);
      expect(answer.status).toBe(400);
      expect(answer.body.error.code).toBe('INVALID_TOKEN');
    },
  );

  test('the largest id Redis holds is a valid position', async () => {
    const answer = await request(`${ingest.url}/v1/analytics/processes?after=0_18446744073709551615-18446744073709551615`);
    expect(answer.status).toBe(504);
  });

  test('3,000 concurrent waits share one poll per partition; other queries are answered meanwhile', async () => {
    await resetCommandStats(admin);
    const token = futureToken();
    const waits = Array.from({ length: 3000 }, () => request(`${ingest.url}/v1/analytics/nodes/average?after=${token}`));
    const others = await Promise.all(Array.from({ length: 20 }, () => request(`${ingest.url}/v1/analytics/nodes/average`)));
    const answers = await Promise.all(waits);
    const counts = await commandCounts(admin);
    expect(others.every((a) => a.status === 200)).toBe(true);
    expect(answers.filter((a) => a.status === 504)).toHaveLength(3000);
    const polls = (counts.xpending ?? 0) + (counts.xinfo ?? 0);
    console.log(`3,000 waits of ${WAIT_MS} ms on one partition: ${polls} XPENDING+XINFO, ${total(counts)} Redis commands in all`);
    // One poll (two commands) per 10 ms for the waiting partition, whatever the number of waiters;
    // polling per request would be 3,000 x 2 per round.
    expect(polls).toBeLessThan(2 * (WAIT_MS / 10) * 3);
    expect(total(counts)).toBeLessThan(3000);
  });

  test('past MAX_CONSISTENCY_WAITERS a wait is 503 with Retry-After; 504s are logged at info without a stack', async () => {
    logLines.length = 0;
    // A wait long enough that all 3,200 requests are waiting at once even on a slow machine.
    const patient = await startIngest(
      testConfig({ REDIS_URL: redisServer.url, CONSISTENCY_WAIT_MS: '15000', MAX_CONSISTENCY_WAITERS: '3100', LOG_LEVEL: 'info' }),
      pino({ level: 'info' }, capture),
    );
    const token = futureToken();
    const answers = await Promise.all(Array.from({ length: 3200 }, () => request(`${patient.url}/v1/nodes?after=${token}`)));
    await patient.close();
    const refused = answers.filter((a) => a.status === 503);
    expect(refused).toHaveLength(100);
    expect(refused[0]!.body.error.code).toBe('TOO_MANY_WAITERS');
    expect(refused[0]!.headers.get('retry-after')).toBe('1');
    expect(answers.filter((a) => a.status === 504)).toHaveLength(3100);
    const timeouts = logLines.filter((l) => l.code === 'CONSISTENCY_TIMEOUT');
    expect(timeouts).toHaveLength(3100);
    expect(timeouts.every((l) => l.level === 30 && l.err === undefined)).toBe(true);
    const clientErrors = logLines.filter((l) => typeof l.status === 'number' && (l.status as number) < 500);
    expect(clientErrors.every((l) => l.level === 30 && l.err === undefined)).toBe(true);
    expect(logLines.some((l) => JSON.stringify(l).includes('stack'))).toBe(false);
  });

  test('a wait whose Redis goes away answers 503 at once, not 504 later', async () => {
    const pending = request(`${ingest.url}/v1/nodes?after=${futureToken()}`);
    await new Promise((r) => setTimeout(r, 100));
    await redisServer.stop('SIGKILL');
    try {
      const answer = await pending;
      expect(answer.status).toBe(503);
    } finally {
      await redisServer.restart();
    }
  });
});

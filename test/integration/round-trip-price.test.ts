/** The benchmark's count of Redis's round trips and its price of one (bench/round-trip-price.ts). */
import Redis from 'ioredis';
import { redisTraffic } from '../../bench/redis-accounting';
import { roundTripPrice } from '../../bench/round-trip-price';
import { privateRedisOfBlock } from '../support/private-redis-of-block';

describe("Redis's round trips, counted and priced", () => {
  const privateRedis = privateRedisOfBlock();
  let redis: Redis;
  beforeAll(() => {
    redis = new Redis(privateRedis().url);
  });
  afterAll(() => redis.disconnect());

  test('a command awaited before the next is one read; a pipeline of many is one', async () => {
    const before = await redisTraffic(redis);
    for (let i = 0; i < 20; i++) await redis.ping();
    const afterSingles = await redisTraffic(redis);
    await redis.pipeline(Array.from({ length: 50 }, () => ['ping'])).exec();
    const afterPipeline = await redisTraffic(redis);
    // The INFO of each reading is a round trip of its own.
    expect(afterSingles.reads - before.reads).toBe(21);
    expect(afterSingles.writes - before.writes).toBe(21);
    expect(afterPipeline.reads - afterSingles.reads).toBe(2);
    // Each PING is 14 bytes in ("*1\r\n$4\r\nping\r\n") and 7 out ("+PONG\r\n").
    expect(afterPipeline.bytesIn - afterSingles.bytesIn).toBeGreaterThanOrEqual(50 * 14);
    expect(afterPipeline.bytesOut - afterSingles.bytesOut).toBeGreaterThanOrEqual(50 * 7);
  });

  test('the price of a round trip comes from requests that each arrived alone', async () => {
    const price = await roundTripPrice(redis, privateRedis().port, 2000);
    expect(price.requests).toBe(2000);
    // redis-benchmark's own set-up adds a few reads to the 2,000.
    expect(price.readsPerRequest).toBeGreaterThanOrEqual(1);
    expect(price.readsPerRequest).toBeLessThan(1.01);
    expect(price.usPerRoundTrip).toBeGreaterThan(0);
    expect(price.sysUsPerRoundTrip).toBeGreaterThanOrEqual(0);
    expect(price.sysUsPerRoundTrip).toBeLessThanOrEqual(price.usPerRoundTrip);
  });
});

/**
 * A service stopped right after it started closes its dead-letter queue while BullMQ is
 * still setting up the connection: that must not leave an unhandled error in the process
 * (it failed an unrelated test in CI before close() waited for the set-up).
 */
import { DeadLetterQueue } from '../../shared/dead-letter-queue';
import { testConfig, testRedis } from '../support/test-config';

test('closing the dead-letter queue at any moment of its start leaves no unhandled error', async () => {
  const config = testConfig();
  const redis = testRedis(config);
  const unhandled: unknown[] = [];
  const record = (error: unknown) => unhandled.push(error);
  process.on('unhandledRejection', record);
  process.on('uncaughtException', record);
  try {
    for (let i = 0; i < 30; i++) {
      const queue = new DeadLetterQueue(config, redis);
      await new Promise((resolve) => setTimeout(resolve, i % 6));
      await queue.close();
    }
    // Give a set-up that failed late the time to surface.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(unhandled.map(String)).toEqual([]);
  } finally {
    process.off('unhandledRejection', record);
    process.off('uncaughtException', record);
    await redis.quit();
  }
});

/** The backpressure monitor's background reads end with stop(), even when one is in flight then. */
import { Registry } from 'prom-client';
import { BackpressureMonitor } from '../../ingest/backpressure';
import { allPartitionKeys } from '../../shared/store/keys';
import { deletePrefix, testConfig, testRedis } from '../support/test-config';

class CountingMonitor extends BackpressureMonitor {
  refreshes = 0;
  override async refresh(): Promise<void> {
    this.refreshes += 1;
    await super.refresh();
  }
}

test('stop() while a refresh is in flight: no refresh follows', async () => {
  const config = testConfig({ STREAM_PARTITIONS: '4' });
  const redis = testRedis(config);
  await redis.connect();
  const partitions = allPartitionKeys(config.keyPrefix, config.streamPartitions);
  const monitor = new CountingMonitor(redis, partitions, config.consumerGroup, 1000, 10, new Registry(), config.keyPrefix);
  try {
    monitor.start(); // the first refresh is now in flight
    monitor.stop();
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(monitor.refreshes).toBe(1);
  } finally {
    monitor.stop();
    await deletePrefix(redis, config.keyPrefix);
    await redis.quit();
  }
});

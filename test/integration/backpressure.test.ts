/** Backpressure (docs/ARCHITECTURE.md, failure handling): workers stopped, lag grows, ingest answers 503 + Retry-After; workers back, 202s return, nothing lost. */
import { startWorker } from '../../worker/server';
import { fleetTotals } from '../support/aggregate-totals';
import { waitForDrained } from '../support/stream-drain';
import { baseTime } from '../support/build-sample';
import { postJson } from '../support/fetch-json';
import { startPipeline, type TestPipeline } from '../support/pipeline';
import { quietLogger, testConfig, testRedis } from '../support/test-config';

describe('backpressure', () => {
  let pipeline: TestPipeline;
  afterAll(async () => {
    await pipeline.stop();
  });

  test('over the lag limit ingest refuses with 503 and Retry-After, then recovers when workers drain', async () => {
    const config = testConfig({ MAX_PARTITION_LAG: '20', BACKPRESSURE_REFRESH_MS: '20', STREAM_PARTITIONS: '2' });
    pipeline = await startPipeline(config, { worker: false });
    const t = baseTime();
    let accepted = 0;
    let refused = 0;
    let retryAfter: string | null = null;
    const post = async (i: number) => {
      const response = await postJson(`${pipeline.url}/v1/samples`, [
        { node: `n${i % 10}`, at: t - (i % 600) * 1000, timeslice: 1, cpu: 1, mem: 1 },
      ]);
      if (response.status === 202) accepted++;
      else {
        expect(response.status).toBe(503);
        expect(response.body.error.code).toBe('SERVICE_UNAVAILABLE');
        retryAfter = response.headers.get('retry-after');
        refused++;
      }
      return response.status;
    };
    for (let i = 0; refused < 5 && i < 2000; i++) {
      await post(i);
      if (i % 10 === 0) await new Promise((r) => setTimeout(r, 25)); // let the lag reading catch up
    }
    expect(refused).toBeGreaterThanOrEqual(5);
    expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
    // Bounded: the limit plus what arrived between two lag readings.
    expect(accepted).toBeLessThan(2 * 20 + 200);

    const worker = await startWorker(config, quietLogger);
    const redis = testRedis(config);
    await redis.connect();
    try {
      await waitForDrained(redis, config.keyPrefix, 2, config.consumerGroup, 20_000);
      let status = 503;
      for (let i = 0; status !== 202 && i < 100; i++) {
        status = await post(10_000 + i);
        if (status !== 202) await new Promise((r) => setTimeout(r, 50));
      }
      expect(status).toBe(202);
      await waitForDrained(redis, config.keyPrefix, 2, config.consumerGroup, 20_000);
      expect((await fleetTotals(redis, config.keyPrefix, 2)).samples).toBe(accepted);
    } finally {
      await worker.close();
      await redis.quit();
    }
  });
});

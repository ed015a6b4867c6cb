/**
 * Backpressure (docs/ARCHITECTURE.md, failure handling): workers stopped, lag grows, ingest
 * answers 503 + Retry-After; workers back, 202s return, nothing lost. The lag is read from
 * every partition (on a Redis Cluster, each from the master holding it).
 */
import { startWorker } from '../../worker/server';
import { fleetTotals } from '../support/aggregate-totals';
import { waitForDrained } from '../support/stream-drain';
import { baseTime } from '../support/build-sample';
import { postJson, request } from '../support/fetch-json';
import { startPipeline, type TestPipeline } from '../support/pipeline';
import { quietLogger, testConfig, testRedis } from '../support/test-config';
import { waitUntil } from '../support/wait-until';
import { partitionValues } from '../support/metrics-text';

/** Runs against the suite's Redis, or the cluster of a test in test/cluster/ (testEnv). */
export function backpressureScenarios(): void {
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
      // Each accepted request appended one entry and no worker ran: once the lag is read again,
      // the partitions' unacknowledged entries add up to exactly the accepted requests.
      let unacknowledged = new Map<number, number>();
      await waitUntil(async () => {
        const text = (await request(`${pipeline.url}/metrics`)).body as string;
        unacknowledged = partitionValues(text, 'nodeagg_partition_unacknowledged_entries');
        return [...unacknowledged.values()].reduce((a, b) => a + b, 0) === accepted;
      }).catch((error: Error) => {
        throw new Error(`${error.message}: ${JSON.stringify([...unacknowledged])} for ${accepted} accepted`);
      });
      expect([...unacknowledged.keys()].sort()).toEqual([0, 1]);
      for (const count of unacknowledged.values()) expect(count).toBeGreaterThan(0);

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
}

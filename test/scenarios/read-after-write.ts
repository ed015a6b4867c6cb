/** Read-after-write (README, API): ?after=TOKEN sees the POST it came from, or answers 504. */
import { baseTime } from '../support/build-sample';
import { postJson, request } from '../support/fetch-json';
import { startPipeline, type TestPipeline } from '../support/pipeline';
import { testConfig } from '../support/test-config';

/** Runs against the suite's Redis, or the cluster of a test in test/cluster/ (testEnv). */
export function readAfterWriteScenarios(): void {
  describe('read-after-write', () => {
    let pipeline: TestPipeline | undefined;
    afterEach(async () => {
      await pipeline?.stop();
      pipeline = undefined;
    });

    test('a query with ?after= right after a POST sees that POST, every time', async () => {
      pipeline = await startPipeline(testConfig());
      const t = baseTime();
      for (let i = 1; i <= 30; i++) {
        const posted = await postJson(`${pipeline.url}/v1/metrics/node/raw-${i % 3}`, { timeslice: 1, cpu: i, mem: 0, at: t + i * 1000 });
        expect(posted.status).toBe(202);
        const seen = await request(`${pipeline.url}/v1/nodes/raw-${i % 3}?after=${posted.body.token}`);
        expect(seen.status).toBe(200);
        expect(seen.body.latest.cpu).toBe(i);
        const average = await request(`${pipeline.url}/v1/analytics/nodes/average?timeslice=1&after=${posted.body.token}`);
        expect(average.body.cpu_used).toBe(i);
      }
    });

    test('a batch token covers every partition the batch touched', async () => {
      pipeline = await startPipeline(testConfig({ STREAM_PARTITIONS: '8' }));
      const t = baseTime();
      const items = Array.from({ length: 64 }, (_, i) => ({ node: `spread-${i}`, at: t, timeslice: 1, cpu: 50, mem: 50 }));
      const posted = await postJson(`${pipeline.url}/v1/samples`, items);
      expect(posted.body.token.split('.').length).toBeGreaterThan(1);
      const nodes = await request(`${pipeline.url}/v1/nodes?after=${posted.body.token}`);
      expect(nodes.body.count).toBe(64);
    });

    test('without a worker the query answers 504 after the bounded wait', async () => {
      pipeline = await startPipeline(testConfig({ CONSISTENCY_WAIT_MS: '300' }), { worker: false });
      const posted = await postJson(`${pipeline.url}/v1/metrics/node/lonely`, { timeslice: 1, cpu: 1, mem: 1 });
      const started = Date.now();
      const response = await request(`${pipeline.url}/v1/analytics/nodes/average?after=${posted.body.token}`);
      expect(response.status).toBe(504);
      expect(response.body.error.code).toBe('CONSISTENCY_TIMEOUT');
      expect(Date.now() - started).toBeGreaterThanOrEqual(300);
    });
  });
}

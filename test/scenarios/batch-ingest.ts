/** POST /v1/samples: JSON arrays, NDJSON, gzip, RFC 3339 times; all or nothing. */
import { gzipSync } from 'node:zlib';
import { baseTime } from '../support/build-sample';
import { postJson, request } from '../support/fetch-json';
import { startPipeline, type TestPipeline } from '../support/pipeline';
import { testConfig } from '../support/test-config';

/** Runs against the suite's Redis, or the cluster of a test in test/cluster/ (testEnv). */
export function batchIngestScenarios(): void {
  describe('batch ingest', () => {
    let pipeline: TestPipeline;
    beforeEach(async () => {
      pipeline = await startPipeline(testConfig());
    });
    afterEach(async () => {
      await pipeline.stop();
    });

    test('gzip-encoded NDJSON with mixed node and process samples is counted whole', async () => {
      const t = baseTime();
      const lines = [
        { node: 'a', timeslice: 10, cpu: 10, mem: 20, at: new Date(t).toISOString() },
        { node: 'b', timeslice: 10, cpu: 30, mem: 40, at: t },
        { node: 'a', process: 'redis-server', timeslice: 10, cpu_used: 5, mem_used: 100, at: t },
      ];
      const body = gzipSync(lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
      const response = await request(`${pipeline.url}/v1/samples`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-ndjson', 'content-encoding': 'gzip' },
        body,
      });
      expect(response.status).toBe(202);
      expect(response.body.accepted).toBe(3);
      expect(response.body.ids.length).toBeGreaterThanOrEqual(1);
      const average = await request(`${pipeline.url}/v1/analytics/nodes/average?timeslice=60&after=${response.body.token}`);
      expect(average.body).toEqual({ timeslice: 10, cpu_used: 20, mem_used: 30 });
      const process = await request(`${pipeline.url}/v1/analytics/processes/redis-server`);
      expect(process.body).toEqual({ timeslice: 10, cpu_used: 5, mem_used: 100, num_instances: 1 });
    });

    test('RFC 3339 times with an offset mean the same instant', async () => {
      const t = baseTime();
      const offset = new Date(t + 2 * 3600 * 1000).toISOString().replace('Z', '+02:00');
      const response = await postJson(`${pipeline.url}/v1/samples`, [{ node: 'tz', timeslice: 5, cpu: 1, mem: 1, at: offset }]);
      expect(response.status).toBe(202);
      const node = await request(`${pipeline.url}/v1/nodes/tz?after=${response.body.token}`);
      expect(node.body.last_seen).toBe(new Date(t).toISOString());
    });
  });
}

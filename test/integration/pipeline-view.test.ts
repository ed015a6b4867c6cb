/** Pipeline view and /metrics (README, API): the figures an operator watches while scaling. */
import { baseTime } from '../support/build-sample';
import { postJson, request } from '../support/fetch-json';
import { startPipeline, type TestPipeline } from '../support/pipeline';
import { testConfig } from '../support/test-config';

describe('pipeline view', () => {
  let pipeline: TestPipeline;
  beforeAll(async () => {
    pipeline = await startPipeline(testConfig({ MAINTENANCE_INTERVAL_MS: '100', STREAM_PARTITIONS: '2' }));
  });
  afterAll(async () => {
    await pipeline.stop();
  });

  test('shows per-partition length, lag, pending, consumers and dead letters', async () => {
    const posted = await postJson(`${pipeline.url}/v1/samples`, [{ node: 'x', at: baseTime(), timeslice: 1, cpu: 1, mem: 1 }]);
    const view = await request(`${pipeline.url}/v1/pipeline?after=${posted.body.token}`);
    expect(view.status).toBe(200);
    expect(view.body.partitions).toHaveLength(2);
    for (const p of view.body.partitions) {
      expect(p).toEqual(
        expect.objectContaining({
          length: expect.any(Number),
          lag: 0,
          pending: 0,
          oldest_pending_age_ms: null,
          consumers: [expect.objectContaining({ pending: 0 })],
        }),
      );
    }
    expect(view.body.dead_letters).toBe(0);
    expect(view.body.last_applied).not.toBeNull();
  });

  test('/metrics exports the figures the maintenance job recorded', async () => {
    let text = '';
    for (let i = 0; i < 50 && !text.includes('nodeagg_stream_length{partition="1"}'); i++) {
      await new Promise((r) => setTimeout(r, 100));
      text = (await request(`${pipeline.url}/metrics`)).body as string;
    }
    expect(text).toMatch(/nodeagg_stream_length\{partition="1"\} \d+/);
    expect(text).toMatch(/nodeagg_stream_pending\{partition="0"\} 0/);
    expect(text).toMatch(/nodeagg_dead_letters 0/);
    expect(text).toMatch(/nodeagg_partition_stalled\{partition="0"\} 0/);
    expect(text).toMatch(/nodeagg_http_request_duration_seconds_count\{method="POST",route="\/v1\/samples"/);
  });
});

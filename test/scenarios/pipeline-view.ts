/** Pipeline view and /metrics (README, API): the figures an operator watches while scaling. */
import { startIngest } from '../../ingest/server';
import { masterNodes } from '../../shared/store/server-nodes';
import { parseInfoMemory } from '../../shared/store/memory-info';
import { baseTime } from '../support/build-sample';
import { postJson, request } from '../support/fetch-json';
import { metricValue } from '../support/metrics-text';
import { startPipeline, type TestPipeline } from '../support/pipeline';
import { quietLogger, testConfig, testRedis } from '../support/test-config';

/** Runs against the suite's Redis, or the cluster of a test in test/cluster/ (testEnv). */
export function pipelineViewScenarios(): void {
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
      // Which shard holds each partition: on a cluster its master and slot (the two partitions'
      // hash tags hash to different slots); on one Redis, null.
      const cluster = pipeline.config.redisClusterNodes !== '';
      for (const p of view.body.partitions) {
        expect(p.shard).toEqual(
          cluster
            ? {
                address: expect.stringMatching(/^127\.0\.0\.1:\d+$/),
                node_id: expect.stringMatching(/^[0-9a-f]{40}$/),
                slot: expect.any(Number),
              }
            : null,
        );
        if (cluster) expect(pipeline.config.redisClusterNodes.split(',')).toContain(p.shard.address);
      }
      if (cluster) expect(view.body.partitions[0].shard.slot).not.toBe(view.body.partitions[1].shard.slot);
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
      const age = metricValue(text, 'nodeagg_pipeline_figures_age_seconds');
      expect(age).toBeGreaterThanOrEqual(0);
      expect(age).toBeLessThan(60);
    });

    test('/metrics shows the memory of the Redis that refuses writes first: the fullest master on a cluster', async () => {
      const redis = testRedis(pipeline.config);
      await redis.connect();
      const masters = masterNodes(redis);
      const limits = await Promise.all(masters.map(async (node) => Number(((await node.config('GET', 'maxmemory')) as string[])[1])));
      try {
        let expectedLimit = limits[0]!;
        if (masters.length > 1) {
          // Each master its own limit: the second is half full, the first a quarter, the rest unlimited.
          const used = await Promise.all(masters.map(async (node) => parseInfoMemory(await node.info('memory')).usedBytes));
          expectedLimit = used[1]! * 2;
          await masters[0]!.config('SET', 'maxmemory', String(used[0]! * 4));
          await masters[1]!.config('SET', 'maxmemory', String(expectedLimit));
        }
        // A new ingest: the gauges read INFO memory at most every few seconds.
        const ingest = await startIngest(pipeline.config, quietLogger);
        try {
          const text = (await request(`${ingest.url}/metrics`)).body as string;
          expect(metricValue(text, 'nodeagg_redis_maxmemory_bytes')).toBe(expectedLimit);
          const used = metricValue(text, 'nodeagg_redis_used_memory_bytes')!;
          expect(used).toBeGreaterThan(0);
          if (expectedLimit > 0) expect(used).toBeLessThan(expectedLimit);
        } finally {
          await ingest.close();
        }
      } finally {
        await Promise.all(masters.map((node, i) => node.config('SET', 'maxmemory', String(limits[i]))));
        await redis.quit();
      }
    });
  });
}

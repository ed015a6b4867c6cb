/**
 * One master of a Redis Cluster at maxmemory (noeviction): only the partitions it holds
 * refuse writes. A request for those answers 503 REDIS_OUT_OF_MEMORY; one for partitions on
 * other masters is accepted; one spanning both answers 503 PARTLY_STORED, and its retry with
 * the same Idempotency-Key after the operator gave room stores only the rest. /metrics
 * shows the full master's memory. On one Redis, test/faults/redis-memory-pressure.test.ts
 * fills the server for real; here a master's limit is set below its use.
 */
import { startIngest } from '../../ingest/server';
import { partitionOf } from '../../shared/partition';
import { allPartitionKeys } from '../../shared/store/keys';
import { masterNodes, nodeAddress } from '../../shared/store/server-nodes';
import { shardsOf } from '../../shared/store/shard-map';
import { fleetTotals } from '../support/aggregate-totals';
import { baseTime } from '../support/build-sample';
import { postJson, request } from '../support/fetch-json';
import { metricValue } from '../support/metrics-text';
import { startPipeline } from '../support/pipeline';
import { waitForDrained } from '../support/stream-drain';
import { quietLogger, testConfig, testRedis } from '../support/test-config';

const PARTITIONS = 2;

/** Runs on the cluster of a test in test/cluster/ (testEnv), whose partitions 0 and 1 live on different masters. */
export function masterOutOfMemoryScenarios(): void {
  describe('one master out of memory', () => {
    test('one master out of memory refuses only its partitions; a keyed retry after room is given counts every sample once', async () => {
      const config = testConfig({ STREAM_PARTITIONS: String(PARTITIONS) });
      const pipeline = await startPipeline(config);
      const redis = testRedis(config);
      await redis.connect();
      const t = baseTime();
      const names = Array.from({ length: 20 }, (_, i) => `oom-${i}`);
      const on = (p: number) => names.filter((name) => partitionOf(name, PARTITIONS) === p);
      const post = (nodes: string[], headers: Record<string, string> = {}) =>
        postJson(
          `${pipeline.url}/v1/samples`,
          nodes.map((node) => ({ node, at: t, timeslice: 1, cpu: 1, mem: 1 })),
          headers,
        );
      const [full, other] = await shardsOf(
        redis,
        allPartitionKeys(config.keyPrefix, PARTITIONS).map((keys) => keys.stream),
      );
      expect(full!.address).not.toBe(other!.address);
      const fullMaster = masterNodes(redis).find((node) => nodeAddress(node) === full!.address)!;
      const limit = (await fullMaster.config('GET', 'maxmemory')) as string[];
      try {
        expect((await post(names)).status).toBe(202);
        await fullMaster.config('SET', 'maxmemory', '1');

        const refused = await post(on(0));
        expect({ status: refused.status, code: refused.body.error.code }).toEqual({ status: 503, code: 'REDIS_OUT_OF_MEMORY' });
        expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
        expect((await post(on(1))).status).toBe(202);
        const partly = await post(names, { 'Idempotency-Key': 'oom-retry' });
        expect({ status: partly.status, code: partly.body.error.code }).toEqual({ status: 503, code: 'PARTLY_STORED' });

        // A new ingest: the memory gauges read INFO memory at most every few seconds.
        const ingest = await startIngest(config, quietLogger);
        try {
          const text = (await request(`${ingest.url}/metrics`)).body as string;
          expect(metricValue(text, 'nodeagg_redis_maxmemory_bytes')).toBe(1);
          expect(metricValue(text, 'nodeagg_redis_used_memory_bytes')).toBeGreaterThan(1);
        } finally {
          await ingest.close();
        }

        await fullMaster.config('SET', 'maxmemory', limit[1]!);
        const retried = await post(names, { 'Idempotency-Key': 'oom-retry' });
        expect(retried.status).toBe(202);
        await waitForDrained(redis, config.keyPrefix, PARTITIONS, config.consumerGroup, 20_000);
        // The first post, the accepted one for partition 1, and the keyed request once.
        expect((await fleetTotals(redis, config.keyPrefix, PARTITIONS)).samples).toBe(names.length + on(1).length + names.length);
      } finally {
        await fullMaster.config('SET', 'maxmemory', limit[1]!);
        await redis.quit();
        await pipeline.stop();
      }
    });
  });
}

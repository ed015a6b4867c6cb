/** Idempotent retries (README, API): the same Idempotency-Key appends once and answers the same. */
import { partitionOf } from '../../shared/partition';
import { decodeEntry } from '../../shared/store/entry-codec';
import { allPartitionKeys } from '../../shared/store/keys';
import type { RedisClient } from '../../shared/redis';
import { postJson } from '../support/fetch-json';
import { startPipeline, type TestPipeline } from '../support/pipeline';
import { testConfig, testRedis } from '../support/test-config';

/** Runs against the suite's Redis, or the cluster of a test in test/cluster/ (testEnv). */
export function idempotencyScenarios(): void {
  describe('idempotent retries', () => {
    let pipeline: TestPipeline;
    let redis: RedisClient;
    beforeAll(async () => {
      pipeline = await startPipeline(testConfig(), { worker: false });
      redis = testRedis(pipeline.config);
      await redis.connect();
    });
    afterAll(async () => {
      await redis.quit();
      await pipeline.stop();
    });

    const entries = async () => {
      const lengths = await Promise.all(
        allPartitionKeys(pipeline.config.keyPrefix, pipeline.config.streamPartitions).map((p) => redis.xlen(p.stream)),
      );
      return lengths.reduce((a, b) => a + b, 0);
    };

    test('a retried batch appends nothing and answers as the first did', async () => {
      const before = await entries();
      const items = [
        { node: 'a', timeslice: 1, cpu: 1, mem: 1 },
        { node: 'b', timeslice: 1, cpu: 2, mem: 2 },
      ];
      const first = await postJson(`${pipeline.url}/v1/samples`, items, { 'Idempotency-Key': 'batch-0001' });
      const retry = await postJson(`${pipeline.url}/v1/samples/`, items, { 'Idempotency-Key': 'batch-0001' });
      expect(first.status).toBe(202);
      expect(retry.status).toBe(202);
      expect(retry.body).toEqual(first.body);
      expect(retry.headers.get('idempotent-replayed')).toBe('true');
      expect(await entries()).toBe(before + first.body.ids.length);
    });

    test('a retried single POST appends nothing', async () => {
      const before = await entries();
      const body = { timeslice: 10, cpu: 5, mem: 5 };
      const first = await postJson(`${pipeline.url}/v1/metrics/node/n1`, body, { 'Idempotency-Key': 'single-1' });
      const retry = await postJson(`${pipeline.url}/v1/metrics/node/n1`, body, { 'Idempotency-Key': 'single-1' });
      expect(retry.body.id).toBe(first.body.id);
      expect(await entries()).toBe(before + 1);
    });

    test('concurrent retries with one key append once and all get the same answer', async () => {
      const before = await entries();
      const items = [
        { node: 'c1', timeslice: 1, cpu: 1, mem: 1 },
        { node: 'c2', timeslice: 1, cpu: 1, mem: 1 },
        { node: 'c3', timeslice: 1, cpu: 1, mem: 1 },
      ];
      const answers = await Promise.all(
        Array.from({ length: 8 }, () => postJson(`${pipeline.url}/v1/samples`, items, { 'Idempotency-Key': 'storm' })),
      );
      expect(answers.every((a) => a.status === 202)).toBe(true);
      expect(new Set(answers.map((a) => JSON.stringify(a.body))).size).toBe(1);
      expect(answers.filter((a) => a.headers.get('idempotent-replayed') === 'true')).toHaveLength(7);
      expect(await entries()).toBe(before + answers[0]!.body.ids.length);
    });

    /** How many samples of each node the partition streams hold. */
    const storedSamples = async (nodes: readonly string[]) => {
      const counts = new Map(nodes.map((node) => [node, 0]));
      for (const p of allPartitionKeys(pipeline.config.keyPrefix, pipeline.config.streamPartitions)) {
        for (const [, fields] of await redis.xrange(p.stream, '-', '+')) {
          for (const sample of decodeEntry(fields)) if (counts.has(sample.node)) counts.set(sample.node, counts.get(sample.node)! + 1);
        }
      }
      return counts;
    };

    test('a retry after one partition failed to append stores only the missing part: every sample once', async () => {
      const { keyPrefix, streamPartitions } = pipeline.config;
      const partitions = allPartitionKeys(keyPrefix, streamPartitions);
      const nodes = ['partial-a'];
      for (let i = 0; partitionOf(nodes[nodes.length - 1]!, streamPartitions) === partitionOf(nodes[0]!, streamPartitions); i++) {
        nodes[1] = `partial-b${i}`;
      }
      const items = nodes.map((node) => ({ node, timeslice: 1, cpu: 10, mem: 20 }));
      // The second node's partition fails for real: its meta hash (which the append script
      // reads first) holds a string, so the script call there answers WRONGTYPE.
      const broken = partitions[partitionOf(nodes[1]!, streamPartitions)]!;
      const meta = await redis.hgetall(broken.meta);
      await redis.del(broken.meta);
      await redis.set(broken.meta, 'not a hash');
      const first = await postJson(`${pipeline.url}/v1/samples`, items, { 'Idempotency-Key': 'partial-1' });
      await redis.del(broken.meta);
      if (Object.keys(meta).length > 0) await redis.hset(broken.meta, meta);
      expect(first.status).toBe(503);
      // One Redis appends a request in one atomic call (nothing stored); a cluster calls once
      // per partition, so the healthy partition stored its part.
      const cluster = pipeline.config.redisClusterNodes !== '';
      expect(first.body.error.code).toBe(cluster ? 'PARTLY_STORED' : 'SERVICE_UNAVAILABLE');
      expect(await storedSamples(nodes)).toEqual(new Map(nodes.map((node, i) => [node, cluster && i === 0 ? 1 : 0])));

      const retry = await postJson(`${pipeline.url}/v1/samples`, items, { 'Idempotency-Key': 'partial-1' });
      expect(retry.status).toBe(202);
      expect(retry.body.accepted).toBe(2);
      const again = await postJson(`${pipeline.url}/v1/samples`, items, { 'Idempotency-Key': 'partial-1' });
      expect(again.status).toBe(202);
      expect(again.headers.get('idempotent-replayed')).toBe('true');
      expect(again.body).toEqual(retry.body);
      expect(await storedSamples(nodes)).toEqual(new Map(nodes.map((node) => [node, 1])));
    });

    test('the same key with a different body is refused with 422', async () => {
      await postJson(`${pipeline.url}/v1/metrics/node/n1`, { timeslice: 10, cpu: 5, mem: 5 }, { 'Idempotency-Key': 'reused' });
      const before = await entries();
      const other = await postJson(
        `${pipeline.url}/v1/metrics/node/n1`,
        { timeslice: 10, cpu: 6, mem: 5 },
        { 'Idempotency-Key': 'reused' },
      );
      expect(other.status).toBe(422);
      expect(other.body.error.code).toBe('IDEMPOTENCY_KEY_REUSED');
      expect(await entries()).toBe(before);
    });

    test('an invalid key is a 400 and a rejected request does not use up its key', async () => {
      const bad = await postJson(
        `${pipeline.url}/v1/metrics/node/n1`,
        { timeslice: 10, cpu: 5, mem: 5 },
        { 'Idempotency-Key': 'x'.repeat(300) },
      );
      expect(bad.status).toBe(400);
      expect(bad.body.error.code).toBe('INVALID_IDEMPOTENCY_KEY');
      const invalid = await postJson(
        `${pipeline.url}/v1/metrics/node/n1`,
        { timeslice: 10, cpu: 500, mem: 5 },
        { 'Idempotency-Key': 'fix-me' },
      );
      expect(invalid.status).toBe(422);
      const fixed = await postJson(
        `${pipeline.url}/v1/metrics/node/n1`,
        { timeslice: 10, cpu: 50, mem: 5 },
        { 'Idempotency-Key': 'fix-me' },
      );
      expect(fixed.status).toBe(202);
    });
  });
}

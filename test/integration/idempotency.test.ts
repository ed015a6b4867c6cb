/** Idempotent retries (README, API): the same Idempotency-Key appends once and answers the same. */
import { allPartitionKeys } from '../../shared/store/keys';
import type { RedisClient } from '../../shared/redis';
import { postJson } from '../support/fetch-json';
import { startPipeline, type TestPipeline } from '../support/pipeline';
import { testConfig, testRedis } from '../support/test-config';

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

  test('the same key with a different body is refused with 422', async () => {
    await postJson(`${pipeline.url}/v1/metrics/node/n1`, { timeslice: 10, cpu: 5, mem: 5 }, { 'Idempotency-Key': 'reused' });
    const before = await entries();
    const other = await postJson(`${pipeline.url}/v1/metrics/node/n1`, { timeslice: 10, cpu: 6, mem: 5 }, { 'Idempotency-Key': 'reused' });
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
    const fixed = await postJson(`${pipeline.url}/v1/metrics/node/n1`, { timeslice: 10, cpu: 50, mem: 5 }, { 'Idempotency-Key': 'fix-me' });
    expect(fixed.status).toBe(202);
  });
});

/**
 * nodeagg_apply_delay_seconds: per applied entry, the time from its append (its stream id)
 * to the apply that counted it. Entries appended with ids a known time in the past land in
 * the buckets that time puts them in; an id ahead of the worker's clock counts as no delay.
 */
import { encodeSamples, ENTRY_FIELD } from '../../shared/store/entry-codec';
import { AggregateStore } from '../../shared/store/batch-apply';
import { createWorkerMetrics } from '../../worker/metrics';
import { onePartitionConsumers } from '../support/one-partition-consumer';

describe('the apply delay histogram', () => {
  const partition = onePartitionConsumers();
  const { config, keys } = partition;

  test('each applied entry is observed once, by the age its id gives it', async () => {
    const redis = partition.redis();
    const now = Date.now();
    const entryAt = (appendedAt: number, seq: number, node: string) =>
      redis.xadd(
        keys.stream,
        `${appendedAt}-${seq}`,
        ENTRY_FIELD,
        encodeSamples([{ kind: 'node', node, at: now - 1000, timeslice: 1, cpu: 1, mem: 1 }]),
      );
    // Two entries 40 s old, one 2 s old, one stamped a minute ahead (a Redis clock ahead of the worker's).
    await entryAt(now - 40_000, 0, 'old-a');
    await entryAt(now - 40_000, 1, 'old-b');
    await entryAt(now - 2_000, 0, 'recent');
    await entryAt(now + 60_000, 0, 'ahead');
    const metrics = createWorkerMetrics();
    const name = config.workerConsumerName;
    await partition.runUntilDrained(partition.consumer(name, new AggregateStore(redis, config.consumerGroup, name), { metrics }));
    const { values } = await metrics.applyDelay.get();
    const value = (metricName: string, le?: number) =>
      values.find((v) => v.metricName === metricName && (le === undefined || v.labels.le === le))!.value;
    const bucket = (le: number) => value('nodeagg_apply_delay_seconds_bucket', le);
    expect(value('nodeagg_apply_delay_seconds_count')).toBe(4);
    expect(bucket(0.005)).toBe(1); // the entry from the future
    expect(bucket(1)).toBe(1);
    expect(bucket(10)).toBe(2); // plus the 2 s old one (applied within 8 s, however busy the machine)
    expect(bucket(30)).toBe(2);
    expect(bucket(60)).toBe(4);
    const sum = value('nodeagg_apply_delay_seconds_sum');
    expect(sum).toBeGreaterThanOrEqual(82);
    expect(sum).toBeLessThan(110);
  });
});

/**
 * The workers' "applied" hints reach the read-after-write waiter: two waiters that poll only
 * every 10 minutes wait for the same entries, one of them subscribed to the hints. After the
 * entries are applied, the subscribed one answers at once and the other is still waiting, so
 * only the hint can have woken it.
 */
import { ConsistencyWaiter } from '../../ingest/consistency-waiter';
import type { Config } from '../../shared/config';
import { createRedisClient } from '../../shared/redis';
import { AppliedSignals } from '../../shared/store/applied-signals';
import { AggregateStore } from '../../shared/store/batch-apply';
import { encodeSamples, ENTRY_FIELD } from '../../shared/store/entry-codec';
import { allPartitionKeys } from '../../shared/store/keys';
import { ensureGroup } from '../../shared/store/stream-groups';
import type { Sample } from '../../shared/samples';
import { baseTime } from './build-sample';
import { deletePrefix } from './test-config';
import { within } from './wait-until';

const NEVER_MS = 600_000;

export async function hintsWakeTheWaiter(config: Config): Promise<void> {
  const partitions = allPartitionKeys(config.keyPrefix, config.streamPartitions);
  const redis = createRedisClient(config, { connectionName: 'test' });
  const subscriber = createRedisClient(config, { connectionName: 'test-hints', subscriber: true });
  const hinted = new ConsistencyWaiter(redis, partitions, config.consumerGroup, 30_000, 10, NEVER_MS);
  const polling = new ConsistencyWaiter(redis, partitions, config.consumerGroup, 2_000, 10, NEVER_MS);
  const signals = new AppliedSignals(subscriber, partitions, (partition) => hinted.applied(partition));
  try {
    await redis.connect();
    await subscriber.connect();
    await signals.start();
    const store = new AggregateStore(redis, config.consumerGroup, 'c1');
    const entries = [];
    for (const keys of partitions) {
      await ensureGroup(redis, keys.stream, config.consumerGroup);
      const sample: Sample = { kind: 'node', node: `hint-${keys.partition}`, at: baseTime(), timeslice: 1, cpu: 10, mem: 20 };
      const id = (await redis.xadd(keys.stream, '*', ENTRY_FIELD, encodeSamples([sample])))!;
      await redis.xreadgroup('GROUP', config.consumerGroup, 'c1', 'COUNT', 1, 'STREAMS', keys.stream, '>');
      entries.push({ keys, id, samples: [sample] });
    }
    const positions = entries.map((e) => ({ partition: e.keys.partition, id: e.id }));
    const settled = { hinted: false, polling: false };
    const hintedWait = hinted.waitFor(positions).then(() => void (settled.hinted = true));
    const pollingWait = polling.waitFor(positions).then(
      () => void (settled.polling = true),
      (error: unknown) => error,
    );
    // Both waiters' first polls find nothing applied; then they pause for NEVER_MS.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(settled).toEqual({ hinted: false, polling: false });
    for (const e of entries) await store.applyBatch(e.keys, [{ id: e.id, samples: e.samples }]);
    await within(10_000, 'the hinted waiter answers after the applies', hintedWait);
    expect(settled).toEqual({ hinted: true, polling: false });
    // The other waiter answers 504 after its 2 s: it never saw the applies.
    expect(await pollingWait).toMatchObject({ name: 'ConsistencyTimeoutError' });
  } finally {
    await signals.stop();
    await deletePrefix(redis, config.keyPrefix).catch(() => undefined);
    await redis.quit();
  }
}

/** The workers' "applied" hints on a Redis Cluster: sharded pub/sub, each partition's hint from its own master. */
import { hintsWakeTheWaiter } from '../support/applied-hints-scenario';
import { useSharedCluster } from '../support/shared-cluster';
import { testConfig } from '../support/test-config';

useSharedCluster();

test('an apply on any master wakes the waiter subscribed to the hints, before its next poll', async () => {
  await hintsWakeTheWaiter(testConfig({ STREAM_PARTITIONS: '6' }));
}, 120_000);

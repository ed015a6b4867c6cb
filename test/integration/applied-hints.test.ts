/** The workers' "applied" hints wake ingest's read-after-write waiter (one Redis; the cluster's in test/cluster/). */
import { hintsWakeTheWaiter } from '../support/applied-hints-scenario';
import { testConfig } from '../support/test-config';

test('an apply wakes the waiter subscribed to the hints, before its next poll', async () => {
  await hintsWakeTheWaiter(testConfig({ STREAM_PARTITIONS: '4' }));
}, 60_000);

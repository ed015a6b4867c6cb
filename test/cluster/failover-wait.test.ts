// A master killed under load with REDIS_WAIT_REPLICAS=1: its replica is promoted, ingest answers 503 meanwhile and recovers by itself, and every sample of a 202 is counted exactly once.
import { failoverCluster, runFailover } from '../support/failover-scenario';

describe('failover of a master with REDIS_WAIT_REPLICAS=1', () => {
  const { cluster, cleanup } = failoverCluster();

  test('whatever the master takes after its replica stopped confirming is answered 503 REPLICATION_TIMEOUT; after the promotion the retries are accepted and nothing a 202 reported is lost or doubled', async () => {
    const figures = await runFailover(cluster(), 1, cleanup);
    console.log(figures.log);

    expect(figures.unexpected).toEqual([]);
    expect(figures.answersSinceCut['503 REPLICATION_TIMEOUT']).toBeGreaterThanOrEqual(5);
    expect(figures.acceptedAloneOnMaster).toBe(0);
    // Ingest came back without a restart, and every request (retried with its key) was accepted in the end.
    expect(figures.acceptedAfterRecovery).toBeGreaterThanOrEqual(30);
    expect(figures.acceptedRequests).toBe(figures.requests);
    expect(figures.lostSamples).toBe(0);
    expect(figures.wrongNodes).toEqual([]);
    expect(figures.countedSamples).toBe(figures.acceptedSamples);
  }, 90_000);
});

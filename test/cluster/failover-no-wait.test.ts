// What REDIS_WAIT_REPLICAS=0 promises: a master killed before its replica caught up loses the samples it alone had answered 202 for; nothing is counted twice.
import { failoverCluster, runFailover } from '../support/failover-scenario';

describe('failover of a master with REDIS_WAIT_REPLICAS=0', () => {
  const { cluster, cleanup } = failoverCluster();

  test('the samples the master alone took (202) are lost with it, exactly those and nothing else; none is counted twice', async () => {
    const figures = await runFailover(cluster(), 0, cleanup);
    console.log(figures.log);

    expect(figures.unexpected).toEqual([]);
    expect(figures.acceptedAfterRecovery).toBeGreaterThanOrEqual(30);
    // Forced, not by chance: these requests were answered 202 after the replica stopped taking writes.
    expect(figures.acceptedAloneOnMaster).toBeGreaterThanOrEqual(10);
    expect(figures.lostSamples).toBeGreaterThan(0);
    // Every node's count is what its 202s accepted minus exactly the lost entries: no double, no other loss.
    expect(figures.wrongNodes).toEqual([]);
    expect(figures.countedSamples).toBe(figures.acceptedSamples - figures.lostSamples);
  }, 90_000);
});

/**
 * Exactly once (docs/ARCHITECTURE.md): workers killed with SIGKILL in the middle of batches while two
 * others keep going. After the stream drains, every sample is counted once.
 */
import { startPrivateRedis } from '../../launcher/private-redis';
import { exactlyOnceCrashScenarios } from '../scenarios/exactly-once-crash';

exactlyOnceCrashScenarios({
  rounds: 3,
  startRedis: async () => {
    const server = await startPrivateRedis();
    return { env: { REDIS_URL: server.url, REDIS_CLUSTER_NODES: '' }, destroy: () => server.destroy() };
  },
});

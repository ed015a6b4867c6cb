/** Runs ingest and a worker in-process on port 0 for a test; stop() drains both. */
import type { Config } from '../../shared/config';
import type { RedisClient } from '../../shared/redis';
import { startIngest } from '../../ingest/server';
import { startWorker } from '../../worker/server';
import { deletePrefix, quietLogger, testRedis } from './test-config';

export interface TestPipeline {
  url: string;
  config: Config;
  stop(): Promise<void>;
}

export async function startPipeline(config: Config, options: { worker?: boolean } = {}): Promise<TestPipeline> {
  const ingest = await startIngest(config, quietLogger);
  const worker = options.worker === false ? undefined : await startWorker(config, quietLogger);
  return {
    url: ingest.url,
    config,
    stop: async () => {
      await worker?.close();
      await ingest.close();
      const redis = testRedis(config);
      await redis.connect();
      await deletePrefix(redis, config.keyPrefix);
      await redis.quit();
    },
  };
}

export interface PipelineWithClient {
  config: Config;
  pipeline: TestPipeline;
  /** A connected client on the pipeline's Redis, for the test's own reads and faults. */
  redis: RedisClient;
}

/**
 * A pipeline and a client for the tests of the calling `describe`: set up in its beforeAll (the
 * config is made there, after a cluster test's own beforeAll has set REDIS_CLUSTER_NODES),
 * stopped in its afterAll. The fields are there from the first test on.
 */
export function pipelineWithClient(makeConfig: () => Config): PipelineWithClient {
  const state = {} as PipelineWithClient;
  beforeAll(async () => {
    state.config = makeConfig();
    state.pipeline = await startPipeline(state.config);
    state.redis = testRedis(state.config);
    await state.redis.connect();
  });
  afterAll(async () => {
    await state.redis?.quit();
    await state.pipeline?.stop();
  });
  return state;
}

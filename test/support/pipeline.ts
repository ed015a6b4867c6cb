/** Runs ingest and a worker in-process on port 0 for a test; stop() drains both. */
import type { Config } from '../../shared/config';
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

/**
 * `npm start`: runs ingest and worker together against REDIS_URL. When nothing answers
 * there and `redis-server` is installed, starts a private one for the session.
 */
import { redisAnswersAt } from '../shared/store/redis-ping';
import { redisServerAvailable, startPrivateRedis } from './private-redis';
import { ServiceSession, loadConfigOrExit } from './service-session';

async function main(): Promise<void> {
  const config = loadConfigOrExit();
  const session = new ServiceSession();
  const env = { ...process.env };
  if (!(await redisAnswersAt(config.redisUrl))) {
    if (!redisServerAvailable()) {
      console.error(
        `No Redis answers at ${config.redisUrl}. Start one (e.g. "docker run -p 6379:6379 redis:7" or "apt-get install redis-server"), or set REDIS_URL.`,
      );
      process.exit(1);
    }
    const privateRedis = await session.startBackend(
      () => startPrivateRedis({ appendOnly: true }),
      (redis) => redis.stop(),
    );
    if (!privateRedis) return;
    env.REDIS_URL = privateRedis.url;
    console.log(
      `No Redis answers at ${config.redisUrl}: started a private redis-server at ${privateRedis.url} for this session (data in ${privateRedis.dir}).`,
    );
  }
  session.startServices(env, config);
}

void main();

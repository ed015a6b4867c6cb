/**
 * `npm start`: runs ingest and worker together against REDIS_URL. When nothing answers
 * there and `redis-server` is installed, starts a private one for the session.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { ConfigError, loadConfig } from '../shared/config';
import { redisAnswersAt } from '../shared/store/redis-ping';
import { redisServerAvailable, startPrivateRedis, type PrivateRedis } from './private-redis';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      process.exit(2);
    }
    throw error;
  }
  const env = { ...process.env };
  let privateRedis: PrivateRedis | undefined;
  if (!(await redisAnswersAt(config.redisUrl))) {
    if (!redisServerAvailable()) {
      console.error(
        `No Redis answers at ${config.redisUrl}. Start one (e.g. "docker run -p 6379:6379 redis:7" or "apt-get install redis-server"), or set REDIS_URL.`,
      );
      process.exit(1);
    }
    privateRedis = await startPrivateRedis({ appendOnly: true });
    env.REDIS_URL = privateRedis.url;
    console.log(
      `No Redis answers at ${config.redisUrl}: started a private redis-server at ${privateRedis.url} for this session (data in ${privateRedis.dir}).`,
    );
  }
  const dist = join(__dirname, '..');
  const children: ChildProcess[] = ['ingest', 'worker'].map((role) =>
    spawn(process.execPath, [join(dist, role, 'main.js')], { env, stdio: 'inherit' }),
  );
  console.log(
    `fleet page and API: http://127.0.0.1:${config.ingestPort}/  worker health: http://127.0.0.1:${config.workerHealthPort}/readyz  (Ctrl-C stops both)`,
  );

  let stopping = false;
  const stopAll = async (code: number) => {
    if (stopping) return;
    stopping = true;
    await Promise.all(
      children.map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            child.once('exit', () => resolve());
            child.kill('SIGTERM');
          }),
      ),
    );
    await privateRedis?.stop();
    process.exit(code);
  };
  for (const child of children) {
    child.once('exit', (code) => {
      if (!stopping) {
        console.error(`a service exited (code ${code}); stopping the others`);
        void stopAll(code || 1);
      }
    });
  }
  process.on('SIGINT', () => void stopAll(0));
  process.on('SIGTERM', () => void stopAll(0));
}

void main();

/**
 * A private Redis stops on SIGTERM even when Redis refuses the first one: while it writes its
 * initial append-only file (append-only switched on at run time, or a cluster replica just
 * synced from its master) it logs "Writing initial AOF, can't exit." and goes on running.
 * `npm run start:cluster` met that on Ctrl-C and never exited.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Redis from 'ioredis';
import { REDIS_LOG_FILE, startPrivateRedis } from '../../launcher/private-redis';
import { exited } from '../support/worker-process';
import { within } from '../support/wait-until';

const KEYS = 2000;
/** Microseconds Redis sleeps per key it saves: the initial rewrite takes about 2 s. */
const SAVE_DELAY_PER_KEY_US = 1000;

test('a stop during the initial append-only rewrite waits for the rewrite, then stops cleanly', async () => {
  const redis = await startPrivateRedis({ appendOnly: false });
  const client = new Redis(redis.url);
  try {
    const writes = client.pipeline();
    for (let k = 0; k < KEYS; k++) writes.set(`key-${k}`, 'value');
    await writes.exec();
    await client.config('SET', 'rdb-key-save-delay', String(SAVE_DELAY_PER_KEY_US));
    await client.config('SET', 'appendonly', 'yes');
    const persistence = await client.info('persistence');
    expect(persistence).toContain('aof_rewrite_in_progress:1');
  } finally {
    client.disconnect();
  }
  const exit = exited(redis.process);
  let log: string;
  try {
    await within(20_000, 'stop during the initial rewrite', redis.stop());
  } finally {
    log = readFileSync(join(redis.dir, REDIS_LOG_FILE), 'utf8');
    await redis.destroy();
  }
  expect(log).toContain("Writing initial AOF, can't exit.");
  expect(log).toContain('ready to exit');
  expect(await exit).toEqual({ code: 0, signal: null });
}, 30_000);

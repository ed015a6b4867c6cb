/**
 * shared/store/command-batch.ts: prepared commands in one socket write, each reply answered in
 * order. On a private Redis: it counts the server's reads of its connections.
 */
import Redis from 'ioredis';
import { startPrivateRedis, type PrivateRedis } from '../../launcher/private-redis';
import { sendBatch } from '../../shared/store/command-batch';
import { EncodedCommand } from '../../shared/store/encoded-command';
import { classifyRedisError } from '../../shared/store/redis-errors';

describe('a batch of prepared commands', () => {
  const key = (name: string) => `batch:${name}`;
  let server: PrivateRedis;
  let redis: Redis;

  beforeAll(async () => {
    server = await startPrivateRedis();
    redis = new Redis(server.url, { enableOfflineQueue: false, lazyConnect: true });
  });
  afterAll(async () => {
    redis.disconnect();
    await server.destroy();
  });

  test('answers every command in order, an error reply in its place, the rest still run', async () => {
    await redis.connect();
    await redis.set(key('text'), 'not a number');
    const readsBefore = Number(/total_reads_processed:(\d+)/.exec(await redis.info('stats'))![1]);
    const settled = await sendBatch(redis, [
      new EncodedCommand('set', [key('n'), 1]),
      new EncodedCommand('incr', [key('text')]),
      new EncodedCommand('incrby', [key('n'), 41]),
      new EncodedCommand('get', [key('n')]),
    ]);
    const readsAfter = Number(/total_reads_processed:(\d+)/.exec(await redis.info('stats'))![1]);
    expect(settled[0]).toEqual([null, Buffer.from('OK')]);
    expect(classifyRedisError(settled[1]![0])).toBe('rejected');
    expect(settled[2]).toEqual([null, 42]);
    expect(settled[3]).toEqual([null, Buffer.from('42')]);
    // One read of the connection for the four commands (the INFO after it is the second).
    expect(readsAfter - readsBefore).toBe(2);
  });

  test('on a connection that is not ready every command fails unsent', async () => {
    const offline = new Redis(server.url, { enableOfflineQueue: false, lazyConnect: true });
    const settled = await sendBatch(offline, [new EncodedCommand('get', [key('n')]), new EncodedCommand('get', [key('n')])]);
    expect(settled.map(([error]) => classifyRedisError(error))).toEqual(['not-sent', 'not-sent']);
    offline.disconnect();
  });
});

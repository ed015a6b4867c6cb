/** Real Redis failures, provoked for real, land in the class the store gives them (shared/store/redis-errors.ts). */
import Redis, { type RedisOptions } from 'ioredis';
import { freePort } from '../../launcher/free-port';
import { startPrivateRedis, type PrivateRedis } from '../../launcher/private-redis';
import { classifyRedisError } from '../../shared/store/redis-errors';

/** The error a command rejects with (fails the test when it succeeds). */
async function failureOf(command: Promise<unknown>): Promise<unknown> {
  return command.then(
    (value) => {
      throw new Error(`expected a failure, got ${JSON.stringify(value)}`);
    },
    (error: unknown) => error,
  );
}

describe('Redis errors by class', () => {
  let server: PrivateRedis;
  let redis: Redis;
  const clients: Redis[] = [];
  const client = (options: RedisOptions = {}) => {
    const c = new Redis(server.port, '127.0.0.1', { lazyConnect: true, disconnectTimeout: 10, ...options });
    c.on('error', () => undefined);
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    server = await startPrivateRedis();
    redis = client();
    await redis.connect();
  });
  afterAll(async () => {
    for (const c of clients) c.disconnect();
    await server.destroy();
  });

  test('NOGROUP, BUSYGROUP, WRONGTYPE, no such key and a script error', async () => {
    await redis.set('plain', 'x');
    await redis.xgroup('CREATE', 'stream', 'g', '0', 'MKSTREAM');
    expect(classifyRedisError(await failureOf(redis.xreadgroup('GROUP', 'missing', 'c', 'STREAMS', 'stream', '>')))).toBe('no-group');
    expect(classifyRedisError(await failureOf(redis.xgroup('CREATE', 'stream', 'g', '0')))).toBe('group-exists');
    expect(classifyRedisError(await failureOf(redis.hset('plain', 'f', 'v')))).toBe('wrong-type');
    expect(classifyRedisError(await failureOf(redis.xinfo('GROUPS', 'no-stream')))).toBe('no-such-key');
    expect(classifyRedisError(await failureOf(redis.eval('return redis.call("nosuchcommand")', 0)))).toBe('rejected');
  });

  test('a write at maxmemory is out of memory, directly, in a script and in a pipeline', async () => {
    await redis.config('SET', 'maxmemory-policy', 'noeviction');
    await redis.config('SET', 'maxmemory', '1');
    try {
      expect(classifyRedisError(await failureOf(redis.set('k', 'v')))).toBe('out-of-memory');
      expect(classifyRedisError(await failureOf(redis.eval("redis.call('get', 'k'); return redis.call('set', 'k', 'v')", 1, 'k')))).toBe(
        'out-of-memory',
      );
      const replies = await redis.pipeline().xadd('s', '*', 'f', 'v').exec();
      expect(classifyRedisError(replies?.[0]?.[0])).toBe('out-of-memory');
      // Reads still work: only writes are refused.
      expect(await redis.get('k')).toBeNull();
    } finally {
      await redis.config('SET', 'maxmemory', '0');
    }
  });

  test('a command that outlives its timeout is unavailable', async () => {
    const impatient = client({ commandTimeout: 50 });
    await impatient.connect();
    await redis.client('PAUSE', 500, 'ALL');
    expect(classifyRedisError(await failureOf(impatient.get('k')))).toBe('unavailable');
  });

  test('a closed client, a refused connection and a dead server: unavailable, or not sent when never sent', async () => {
    const closed = client();
    await closed.connect();
    closed.disconnect();
    expect(classifyRedisError(await failureOf(closed.get('k')))).toBe('unavailable');

    const nowhere = await freePort();
    const failFast = new Redis(nowhere, '127.0.0.1', { enableOfflineQueue: false, retryStrategy: () => 50, disconnectTimeout: 10 });
    failFast.on('error', () => undefined);
    clients.push(failFast);
    expect(classifyRedisError(await failureOf(failFast.get('k')))).toBe('not-sent');

    const queued = new Redis(nowhere, '127.0.0.1', { maxRetriesPerRequest: 1, retryStrategy: () => 50, disconnectTimeout: 10 });
    queued.on('error', () => undefined);
    clients.push(queued);
    expect(classifyRedisError(await failureOf(queued.get('k')))).toBe('unavailable');

    // A command in flight when its connection is killed.
    const victim = client({ maxRetriesPerRequest: 0, retryStrategy: () => 50 });
    await victim.connect();
    const id = await victim.client('ID');
    const inFlight = failureOf(victim.blpop('never-filled', 0));
    await redis.client('KILL', 'ID', String(id));
    expect(classifyRedisError(await inFlight)).toBe('unavailable');
  });
});

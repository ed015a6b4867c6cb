/**
 * A command in flight when its connection closes fails when the connection closes. ioredis,
 * told not to send it again after a reconnect (a write whose reply was lost must not run
 * twice), dropped it unanswered once the connection was back: it then failed only at
 * REDIS_COMMAND_TIMEOUT_MS, as a timeout.
 */
import Redis from 'ioredis';
import { createRedisClient, type RedisClient } from '../../shared/redis';
import { classifyRedisError, isCommandTimeout } from '../../shared/store/redis-errors';
import { privateRedisOfBlock } from '../support/private-redis-of-block';
import { testConfig } from '../support/test-config';
import { waitUntil } from '../support/wait-until';

/** Long enough that a command failing only at its timeout shows as one. */
const COMMAND_TIMEOUT_MS = 8000;

describe('a command in flight when its connection closes', () => {
  const privateRedis = privateRedisOfBlock();

  /** Sends a BLPOP that Redis holds, closes its connection from the server side, and answers how the BLPOP ended. */
  async function blpopCutOff(client: RedisClient, admin: Redis, name: string): Promise<unknown> {
    if ((client as Redis).status === 'wait') await client.connect(); // lazy: the services connect at start
    await client.ping();
    const blocked = (client as Redis).blpop(`${name}:never`, 6).then(
      () => new Error('answered'),
      (error: unknown) => error,
    );
    // Redis holds the BLPOP: the command is in flight, unanswered.
    await waitUntil(
      async () =>
        ((await admin.client('LIST')) as string).includes(`name=${name} `) && (await admin.info('clients')).includes('blocked_clients:1'),
    );
    await admin.client('KILL', 'TYPE', 'normal', 'SKIPME', 'yes');
    return blocked;
  }

  for (const options of [
    { connectionName: 'in-flight-queued' },
    { connectionName: 'in-flight-fail-fast', failFastWhenDisconnected: true },
  ]) {
    test(`fails as the connection closes, not at the command timeout, and the client goes on (${options.connectionName})`, async () => {
      const config = testConfig({ REDIS_URL: privateRedis().url, REDIS_COMMAND_TIMEOUT_MS: String(COMMAND_TIMEOUT_MS) });
      const admin = new Redis(privateRedis().url);
      const client = createRedisClient(config, options);
      try {
        const error = await blpopCutOff(client, admin, options.connectionName);
        expect(error).toBeInstanceOf(Error);
        expect(isCommandTimeout(error)).toBe(false);
        // Sent, its reply lost: whether it ran is unknown, as for a timeout.
        expect(classifyRedisError(error)).toBe('unavailable');
        // The connection comes back and serves the next command.
        await waitUntil(async () => client.status === 'ready');
        expect(await client.ping()).toBe('PONG');
      } finally {
        client.disconnect();
        admin.disconnect();
      }
    }, 30_000);
  }
});

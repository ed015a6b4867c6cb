/** The workers' "applied" hints wake ingest's read-after-write waiter (one Redis; the cluster's in test/cluster/). */
import Redis from 'ioredis';
import { startIngest } from '../../ingest/server';
import { startWorker } from '../../worker/server';
import { createRedisClient } from '../../shared/redis';
import { AppliedSignals } from '../../shared/store/applied-signals';
import { AggregateStore } from '../../shared/store/batch-apply';
import { allPartitionKeys } from '../../shared/store/keys';
import { waitUntil } from '../support/wait-until';
import { capturingLogger } from '../support/capturing-logger';
import { hintsWakeTheWaiter } from '../support/applied-hints-scenario';
import { pendingEntry } from '../support/pending-entry';
import { privateRedisOfBlock } from '../support/private-redis-of-block';
import { watchCommands } from '../support/watched-commands';
import { postJson, request } from '../support/fetch-json';
import { quietLogger, testConfig } from '../support/test-config';

/** A node sample posted to `url`'s ingest, then read back with `?after=` its token: the apply's answer. */
async function expectReadAfterWrite(url: string, node: string, cpu: number): Promise<void> {
  const posted = await postJson(`${url}/v1/metrics/node/${node}`, { timeslice: 10, cpu, mem: 50 });
  expect(posted.status).toBe(202);
  const read = await request(`${url}/v1/analytics/nodes/average?timeslice=60&after=${encodeURIComponent(posted.body.token)}`);
  expect(read.status).toBe(200);
  expect(read.body.cpu_used).toBe(cpu);
}

test('an apply wakes the waiter subscribed to the hints, before its next poll', async () => {
  await hintsWakeTheWaiter(testConfig({ STREAM_PARTITIONS: '4' }));
}, 60_000);

describe('the hint of an apply', () => {
  const privateRedis = privateRedisOfBlock();

  test("is published in the apply's transaction, right after its acknowledgement, and not for entries applied before", async () => {
    const redis = privateRedis();
    const config = testConfig({ REDIS_URL: redis.url, STREAM_PARTITIONS: '2' });
    const [keys] = allPartitionKeys(config.keyPrefix, config.streamPartitions);
    const seen: string[] = [];
    const watched = await watchCommands(redis.url, (args, source) => {
      const name = args[0]?.toLowerCase();
      if (name === 'spublish' && args[1] === keys!.appliedChannel) seen.push(`spublish by ${source}`);
      if (name === 'xack' && args[1] === keys!.stream) seen.push(`xack by ${source}`);
      if (name === 'exec') seen.push(`exec by ${source}`);
    });
    const client = new Redis(redis.url);
    try {
      const entry = await pendingEntry(client, keys!, config.consumerGroup, 'hinted');
      const store = new AggregateStore(client, config.consumerGroup, 'c1');
      expect(await store.applyBatch(keys!, [entry])).toEqual({ applied: 1, skipped: 0, samples: 1 });
      // Another delivery of the same entry changes nothing, so it tells nobody.
      expect(await store.applyBatch(keys!, [entry])).toEqual({ applied: 0, skipped: 1, samples: 0 });
      // MONITOR shows the commands a transaction ran, then its EXEC, each with the client that sent it.
      await watched.settled(client);
      expect(seen).toHaveLength(3);
      const source = seen[0]!.replace('xack by ', '');
      expect(seen).toEqual([`xack by ${source}`, `spublish by ${source}`, `exec by ${source}`]);
    } finally {
      await watched.stop();
      await client.quit();
    }
  }, 60_000);
});

describe('a Redis user without channel access', () => {
  const privateRedis = privateRedisOfBlock();

  test('an apply succeeds at once: the hint it may not publish is passed over', async () => {
    const redis = privateRedis();
    const admin = new Redis(redis.url);
    await admin.acl('SETUSER', 'nohints', 'on', '>secret', '~*', 'resetchannels', '+@all');
    await admin.quit();
    const config = testConfig({ STREAM_PARTITIONS: '2' });
    const [keys] = allPartitionKeys(config.keyPrefix, config.streamPartitions);
    const client = new Redis(`redis://nohints:secret@127.0.0.1:${redis.port}`);
    try {
      const entry = await pendingEntry(client, keys!, config.consumerGroup, 'unhinted');
      const store = new AggregateStore(client, config.consumerGroup, 'c1');
      expect(await store.applyBatch(keys!, [entry])).toEqual({ applied: 1, skipped: 0, samples: 1 });
    } finally {
      await client.quit();
    }
  }, 60_000);

  test('ingest warns once at start, workers apply as before, and ?after= answers through the poll', async () => {
    const redis = privateRedis();
    const admin = new Redis(redis.url);
    // Keys and commands, but no channel: SSUBSCRIBE and SPUBLISH are refused (NOPERM).
    await admin.acl('SETUSER', 'nochannels', 'on', '>secret', '~*', 'resetchannels', '+@all');
    await admin.quit();
    const config = testConfig({ REDIS_URL: `redis://nochannels:secret@127.0.0.1:${redis.port}`, STREAM_PARTITIONS: '2' });
    const lines: string[] = [];
    const logger = capturingLogger(lines, 'warn');
    const ingest = await startIngest(config, logger);
    const worker = await startWorker(config, quietLogger);
    try {
      const warnings = lines.filter((line) => line.includes("cannot subscribe to the workers' applied hints"));
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toContain('NOPERM');
      await expectReadAfterWrite(ingest.url, 'hintless', 40);
    } finally {
      await worker.close();
      await ingest.close();
    }
  }, 60_000);
});

describe('a Redis user that loses its channels while ingest runs', () => {
  const privateRedis = privateRedisOfBlock();

  test('ingest warns, keeps answering through the poll, and leaves no refusal unhandled (which would end the process)', async () => {
    const redis = privateRedis();
    const admin = new Redis(redis.url);
    await admin.acl('SETUSER', 'revoked', 'on', '>secret', '~*', '&*', '+@all');
    const config = testConfig({ REDIS_URL: `redis://revoked:secret@127.0.0.1:${redis.port}`, STREAM_PARTITIONS: '2' });
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    const lines: string[] = [];
    const ingest = await startIngest(config, capturingLogger(lines, 'warn'));
    const worker = await startWorker(config, quietLogger);
    try {
      const subscriberId = async () =>
        ((await admin.client('LIST')) as string)
          .split('\n')
          .find((line) => line.includes('name=ingest-applied-hints'))
          ?.split(' ')[0];
      const first = await subscriberId();
      expect(first).toBeDefined();
      // Redis closes a subscriber whose channels are revoked; it connects again and is refused them.
      await admin.acl('SETUSER', 'revoked', 'resetchannels');
      await waitUntil(async () => lines.some((line) => line.includes('NOPERM')), 10_000, 20);
      expect(await subscriberId()).not.toBe(first);
      await expectReadAfterWrite(ingest.url, 'revoked', 30);
    } finally {
      await worker.close();
      await ingest.close();
      await admin.quit();
      process.off('unhandledRejection', onUnhandled);
    }
    expect(unhandled).toEqual([]);
  }, 60_000);
});

describe('a hint subscriber whose Redis restarts', () => {
  const privateRedis = privateRedisOfBlock();

  test('subscribes again by itself and hears the hints that follow', async () => {
    const redis = privateRedis();
    const config = testConfig({ REDIS_URL: redis.url, STREAM_PARTITIONS: '4' });
    const partitions = allPartitionKeys(config.keyPrefix, config.streamPartitions);
    const client = createRedisClient(config, { connectionName: 'hints-restart', subscriber: true });
    const heard: number[] = [];
    const signals = new AppliedSignals(client, partitions, (p) => heard.push(p));
    await client.connect();
    await signals.start();
    try {
      await redis.stop('SIGKILL');
      await waitUntil(async () => client.status !== 'ready', 10_000, 20);
      await redis.restart();
      const publisher = new Redis(redis.url);
      try {
        await waitUntil(
          async () => {
            await publisher.spublish(partitions[2]!.appliedChannel, '');
            return heard.includes(2);
          },
          10_000,
          50,
        );
      } finally {
        await publisher.quit();
      }
      expect(heard.every((p) => p === 2)).toBe(true);
    } finally {
      await signals.stop();
    }
  }, 60_000);
});

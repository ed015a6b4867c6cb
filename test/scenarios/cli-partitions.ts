/** `nodeagg partitions`: its refusals and error paths, each leaving the data and ingest as they were. */
import { startIngest } from '../../ingest/server';
import { loadConfig } from '../../shared/config';
import { DeadLetterQueue } from '../../shared/dead-letter-queue';
import { allPartitionKeys, globalKeys, partitionKeys } from '../../shared/store/keys';
import { slotOfKey, slotRangeOf } from '../../shared/store/partition-tag';
import type { RedisClient } from '../../shared/redis';
import { postJson } from '../support/fetch-json';
import { deletePrefix, quietLogger, testEnv, testRedis } from '../support/test-config';
import { runCli } from '../support/run-cli';

/** Runs against the suite's Redis, or the cluster of a test in test/cluster/ (testEnv). */
export function cliPartitionsScenarios(): void {
  describe('nodeagg partitions', () => {
    // Made in beforeAll: a cluster test sets REDIS_CLUSTER_NODES in its own beforeAll first.
    let env: Record<string, string>;
    let cli: Record<string, string>;
    let redis: RedisClient;

    beforeAll(async () => {
      env = testEnv();
      cli = { REDIS_URL: env.REDIS_URL!, REDIS_CLUSTER_NODES: env.REDIS_CLUSTER_NODES!, KEY_PREFIX: env.KEY_PREFIX! };
      redis = testRedis(loadConfig(env));
      await redis.connect();
    });
    afterAll(async () => {
      await deletePrefix(redis, env.KEY_PREFIX!);
      await redis.quit();
    });

    test('set before any service started refuses: nothing recorded yet', async () => {
      const result = await runCli(['partitions', 'set', '8'], cli);
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/No partition count is recorded yet/);
      expect(await redis.get(globalKeys(env.KEY_PREFIX!).partitionCount)).toBeNull();
    });

    test('a bad count is a usage error; an unreachable Redis exits 3', async () => {
      for (const bad of ['0', 'many', '5000']) expect((await runCli(['partitions', 'set', bad], cli)).code).toBe(2);
      const unreachable = await runCli(['partitions', 'show'], {
        ...cli,
        REDIS_URL: 'redis://127.0.0.1:1',
        REDIS_CLUSTER_NODES: cli.REDIS_CLUSTER_NODES ? '127.0.0.1:1' : '',
      });
      expect(unreachable.code).toBe(3);
      expect(unreachable.stderr).toMatch(/cannot reach Redis/);
    });

    test('show, same count, and a drain timeout that resumes ingest with the old count', async () => {
      const config = loadConfig({ ...env, STREAM_PARTITIONS: '4' });
      const ingest = await startIngest(config, quietLogger);
      try {
        expect(JSON.parse((await runCli(['partitions', 'show', '--json'], cli)).stdout)).toEqual({ recorded: 4, change: null });
        const same = await runCli(['partitions', 'set', '4'], cli);
        expect({ code: same.code, out: same.stdout.trim() }).toEqual({ code: 0, out: 'The data already has 4 partitions; nothing to do.' });

        // No worker: the posted entry is never delivered, so the drain cannot finish.
        expect((await postJson(`${ingest.url}/v1/metrics/node/undrained`, { timeslice: 1, cpu: 1, mem: 1 })).status).toBe(202);
        const timedOut = await runCli(['partitions', 'set', '8', '--drain-timeout', '1s'], cli);
        expect(timedOut.code).toBe(1);
        expect(timedOut.stderr).toMatch(/did not drain within 1000 ms .*ingest resumed with 4 partitions/);
        expect(await redis.get(globalKeys(env.KEY_PREFIX!).partitionCount)).toBe('4');
        expect(await redis.get(globalKeys(env.KEY_PREFIX!).partitionChange)).toBeNull();
        expect(await redis.hget(partitionKeys(env.KEY_PREFIX!, 0, 4).meta, 'paused')).toBeNull();
        // Resumed: ingest accepts again (its background read of the pause flag catches up).
        let status = 0;
        for (let i = 0; i < 100 && status !== 202; i++) {
          status = (await postJson(`${ingest.url}/v1/metrics/node/undrained`, { timeslice: 1, cpu: 1, mem: 1 })).status;
          if (status !== 202) await new Promise((r) => setTimeout(r, 100));
        }
        expect(status).toBe(202);
      } finally {
        await ingest.close();
      }
    });

    test('keys prints the stream keys of a count, without Redis: the ones the services use', async () => {
      const offline = { ...cli, REDIS_URL: 'redis://127.0.0.1:1' };
      const configured = await runCli(['partitions', 'keys'], { ...offline, STREAM_PARTITIONS: '4' });
      expect(configured).toEqual({
        code: 0,
        stdout: allPartitionKeys(env.KEY_PREFIX!, 4)
          .map((k) => `${k.stream}\n`)
          .join(''),
        stderr: '',
      });
      const six = JSON.parse((await runCli(['partitions', 'keys', '--count', '6', '--json'], offline)).stdout) as {
        partition: number;
        stream: string;
        slot: number;
      }[];
      expect(six.map((row) => row.stream)).toEqual(allPartitionKeys(env.KEY_PREFIX!, 6).map((k) => k.stream));
      for (const row of six) {
        const { first, end } = slotRangeOf(row.partition, 6);
        expect({ row, inRange: row.slot === slotOfKey(row.stream) && row.slot >= first && row.slot < end }).toEqual({ row, inRange: true });
      }
      for (const bad of ['0', '1025', 'six']) {
        const result = await runCli(['partitions', 'keys', '--count', bad], offline);
        expect({ code: result.code, stderr: result.stderr }).toEqual({
          code: 2,
          stderr: expect.stringMatching(/whole number from 1 to 1024/),
        });
      }
    });

    test('set refuses while the dead-letter queue holds entries', async () => {
      const config = loadConfig({ ...env, STREAM_PARTITIONS: '4' });
      const deadLetters = new DeadLetterQueue(config, redis);
      try {
        await deadLetters.add({
          partition: 1,
          entry_id: '1-0',
          fields: ['d', 'x'],
          reason: 'test',
          deliveries: 5,
          failed_at: new Date().toISOString(),
        });
        const result = await runCli(['partitions', 'set', '8'], cli);
        expect(result.code).toBe(1);
        expect(result.stderr).toMatch(/dead-letter queue holds 1 entries.*replay or purge them first/);
        expect(await redis.get(globalKeys(env.KEY_PREFIX!).partitionCount)).toBe('4');
      } finally {
        await deadLetters.close();
      }
    });
  });
}

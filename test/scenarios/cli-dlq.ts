/** `nodeagg dlq` and `status` with a real dead letter: list shows it, status counts it, replay and purge act on it. */
import { encodeSamples, ENTRY_FIELD } from '../../shared/store/entry-codec';
import { DeadLetterQueue } from '../../shared/dead-letter-queue';
import { baseTime } from '../support/build-sample';
import { waitForDrained } from '../support/stream-drain';
import { partitionKeys } from '../../shared/store/keys';
import { freePort } from '../../launcher/free-port';
import type { Config } from '../../shared/config';
import type { RedisClient } from '../../shared/redis';
import { pipelineWithClient, type TestPipeline } from '../support/pipeline';
import { testConfig } from '../support/test-config';
import { runCli, startCli, waitFor } from '../support/run-cli';
import { waitUntil } from '../support/wait-until';

/** Runs against the suite's Redis, or the cluster of a test in test/cluster/ (testEnv). */
export function cliDlqScenarios(): void {
  describe('nodeagg dlq and status', () => {
    let config: Config;
    let pipeline: TestPipeline;
    let redis: RedisClient;
    const run = (...args: string[]) => runCli(['--url', pipeline.url, ...args]);

    async function deadLetterCount(): Promise<number> {
      return JSON.parse((await run('dlq', 'list', '--json')).stdout).count;
    }

    // The config is made in beforeAll: a cluster test sets REDIS_CLUSTER_NODES in its own beforeAll first.
    const setup = pipelineWithClient(() =>
      testConfig({
        STREAM_PARTITIONS: '2',
        DEAD_LETTER_AFTER_DELIVERIES: '2',
        WORKER_CLAIM_IDLE_MS: '100',
        WORKER_CLAIM_INTERVAL_MS: '50',
      }),
    );
    beforeAll(() => ({ config, pipeline, redis } = setup));

    test('list, status, replay, purge', async () => {
      const entryId = (await redis.xadd(
        partitionKeys(config.keyPrefix, 0, config.streamPartitions).stream,
        '*',
        ENTRY_FIELD,
        'N\tbroken\tnot-a-number',
      ))!;
      await waitUntil(async () => (await deadLetterCount()) === 1);

      const list = await run('dlq', 'list');
      expect(list.code).toBe(0);
      expect(list.stdout).toMatch(/^ID\s+PARTITION\s+ENTRY\s+DELIVERIES\s+REASON\s+FAILED AT\s+CONTENT$/m);
      expect(list.stdout).toContain(entryId);
      expect(list.stdout).toMatch(/cannot decode/);
      expect(list.stdout).toMatch(/^1 shown of 1$/m);
      const id = JSON.parse((await run('dlq', 'list', '--json')).stdout).items[0].id as string;

      await waitUntil(async () => JSON.parse((await run('status', '--json')).stdout).totals.pending === 0);
      expect((await run('status')).stdout).toMatch(/^dead letters: 1 \(see: nodeagg dlq list\)$/m);

      const replay = await run('dlq', 'replay', id);
      expect(replay).toMatchObject({ code: 0, stdout: 'replayed 1 entry\n' });
      // Still garbage: after its deliveries it is dead-lettered again.
      await waitUntil(async () => (await deadLetterCount()) === 1);

      const purge = await run('dlq', 'purge', '--id', JSON.parse((await run('dlq', 'list', '--json')).stdout).items[0].id);
      expect(purge).toMatchObject({ code: 0, stdout: 'purged 1 entry\n' });
      expect(await deadLetterCount()).toBe(0);
    });

    test('replay drops a letter whose entry a worker applied (a worker died between the letter and its acknowledgement)', async () => {
      const keys = partitionKeys(config.keyPrefix, 0, config.streamPartitions);
      const fields = [ENTRY_FIELD, encodeSamples([{ kind: 'node', node: 'applied-anyway', at: baseTime(), timeslice: 1, cpu: 5, mem: 5 }])];
      const entryId = (await redis.xadd(keys.stream, '*', ...fields))!;
      await waitForDrained(redis, config.keyPrefix, config.streamPartitions, config.consumerGroup, 15_000);
      const letters = new DeadLetterQueue(config, redis);
      try {
        await letters.add({
          partition: 0,
          entry_id: entryId,
          fields,
          reason: 'stored before a crash',
          deliveries: 1,
          failed_at: new Date().toISOString(),
        });
      } finally {
        await letters.close();
      }
      expect(await deadLetterCount()).toBe(1);
      const replay = await run('dlq', 'replay');
      expect(replay).toMatchObject({
        code: 0,
        stdout: 'replayed 0 entries\ndropped 1 entry a worker applied after all (replaying would count them twice)\n',
      });
      expect(await deadLetterCount()).toBe(0);
    });

    test('status --watch --json: one line per refresh until Ctrl-C, then exit 0', async () => {
      const watch = startCli(['--url', pipeline.url, 'status', '--watch', '0.2', '--json']);
      await waitFor(() => watch.stdout().split('\n').filter(Boolean).length >= 2, 10_000, 'two refreshes');
      watch.child.kill('SIGINT');
      expect(await watch.exited).toBe(0);
      for (const line of watch.stdout().split('\n').filter(Boolean)) {
        expect(JSON.parse(line)).toMatchObject({ at: expect.any(String), partitions: expect.any(Array), totals: expect.any(Object) });
      }
    });

    test('status --watch keeps going through an outage and says what is wrong', async () => {
      const watch = startCli(['--url', `http://127.0.0.1:${await freePort()}`, 'status', '--watch', '0.2']);
      await waitFor(() => (watch.stdout().match(/error: cannot reach the service/g) ?? []).length >= 2, 10_000, 'two failed refreshes');
      watch.child.kill('SIGINT');
      expect(await watch.exited).toBe(0);
    });
  });
}

/** Poison entries: dead-lettered at once when they can never apply, the stream flows past, replay counts once. */
import { ENTRY_FIELD } from '../../shared/store/entry-codec';
import { fineBucketOf, nodeSecondsChunkOf, partitionKeys } from '../../shared/store/keys';
import { partitionOf } from '../../shared/partition';
import type { Config } from '../../shared/config';
import type { RedisClient } from '../../shared/redis';
import { fleetTotals } from '../support/aggregate-totals';
import { waitForDrained } from '../support/stream-drain';
import { baseTime } from '../support/build-sample';
import { postJson, request } from '../support/fetch-json';
import { pipelineWithClient, type TestPipeline } from '../support/pipeline';
import { testConfig } from '../support/test-config';
import { waitUntil } from '../support/wait-until';

/** Runs against the suite's Redis, or the cluster of a test in test/cluster/ (testEnv). */
export function deadLetterScenarios(): void {
  describe('dead letters', () => {
    let config: Config;
    let pipeline: TestPipeline;
    let redis: RedisClient;
    // The config is made in beforeAll: a cluster test sets REDIS_CLUSTER_NODES in its own beforeAll first.
    const setup = pipelineWithClient(() =>
      testConfig({
        STREAM_PARTITIONS: '2',
        DEAD_LETTER_AFTER_DELIVERIES: '3',
        WORKER_CLAIM_IDLE_MS: '100',
        WORKER_CLAIM_INTERVAL_MS: '50',
      }),
    );
    beforeAll(() => ({ config, pipeline, redis } = setup));

    async function deadLetters() {
      return (await request(`${pipeline.url}/v1/admin/dead-letters`)).body as {
        count: number;
        items: { id: string; reason: string; entry_id: string; deliveries: number }[];
      };
    }

    test('a poison entry is dead-lettered at once with its reason while the rest of the stream flows past', async () => {
      const stream = partitionKeys(config.keyPrefix, 0, config.streamPartitions).stream;
      const poisonedAt = Date.now();
      const garbageId = (await redis.xadd(stream, '*', ENTRY_FIELD, 'N\tbroken\tnot-a-number'))!;
      const t = baseTime();
      const items = Array.from({ length: 50 }, (_, i) => ({ node: `flow-${i}`, at: t - i * 1000, timeslice: 1, cpu: 10, mem: 10 }));
      const posted = await postJson(`${pipeline.url}/v1/samples`, items);
      expect(posted.status).toBe(202);
      // The good samples are aggregated without waiting for the poison entry to be settled.
      const seen = await request(`${pipeline.url}/v1/nodes?after=${posted.body.token}`);
      expect(seen.status).toBe(200);
      expect(seen.body.count).toBe(50);

      await waitUntil(async () => (await deadLetters()).count === 1, 15_000, 5);
      // How long the poison entry held its partition back (documented in docs/ARCHITECTURE.md).
      console.log(`poison entry dead-lettered ${Date.now() - poisonedAt} ms after it was appended`);
      const letters = await deadLetters();
      // Undecodable: no retry can help, so the first delivery dead-letters it.
      expect(letters.items[0]).toMatchObject({ entry_id: garbageId, deliveries: 1 });
      expect(letters.items[0]!.reason).toMatch(/cannot decode/);
      await waitForDrained(redis, config.keyPrefix, 2, config.consumerGroup, 15_000);
      const status = await request(`${pipeline.url}/v1/pipeline`);
      expect(status.body.dead_letters).toBe(1);
      expect(status.body.totals.pending).toBe(0);

      const purged = await request(`${pipeline.url}/v1/admin/dead-letters?id=${letters.items[0]!.id}`, { method: 'DELETE' });
      expect(purged.body).toEqual({ purged: 1 });
      expect((await deadLetters()).count).toBe(0);
    });

    test('an entry that cannot be applied is dead-lettered; after the fix, replay counts it exactly once', async () => {
      const node = 'victim-node';
      const keys = partitionKeys(config.keyPrefix, partitionOf(node, 2), config.streamPartitions);
      // A fault outside the entry: the hash of this minute's node seconds is a string.
      const at = baseTime();
      const seconds = keys.nodeSeconds(nodeSecondsChunkOf(fineBucketOf(at)));
      await redis.set(seconds, 'not a hash');
      const before = (await fleetTotals(redis, config.keyPrefix, 2)).samples;
      const postedAt = Date.now();
      const posted = await postJson(`${pipeline.url}/v1/metrics/node/${node}`, { timeslice: 5, cpu: 70, mem: 30, at });
      expect(posted.status).toBe(202);
      await waitUntil(async () => (await deadLetters()).count === 1, 15_000, 5);
      console.log(`entry rejected by Redis (WRONGTYPE) dead-lettered ${Date.now() - postedAt} ms after it was posted`);
      const letter = (await deadLetters()).items[0]!;
      expect(letter.reason).toMatch(/WRONGTYPE/);
      expect(letter.deliveries).toBe(1);
      // Nothing of the failed entry was applied, not even partly.
      expect((await fleetTotals(redis, config.keyPrefix, 2)).samples).toBe(before);

      await redis.del(seconds); // the fix
      const replay = await request(`${pipeline.url}/v1/admin/dead-letters/replay`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ ids: [letter.id] }),
      });
      expect(replay.body).toEqual({ replayed: 1, already_applied: 0, still_pending: 0 });
      const again = await request(`${pipeline.url}/v1/admin/dead-letters/replay`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
      });
      expect(again.body).toEqual({ replayed: 0, already_applied: 0, still_pending: 0 });
      await waitForDrained(redis, config.keyPrefix, 2, config.consumerGroup, 15_000);
      await waitUntil(async () => (await request(`${pipeline.url}/v1/nodes/${node}`)).status === 200);
      expect((await fleetTotals(redis, config.keyPrefix, 2)).samples).toBe(before + 1);
      expect((await request(`${pipeline.url}/v1/nodes/${node}`)).body.latest.cpu).toBe(70);
    });

    test('admin routes reject a malformed replay body', async () => {
      const bad = await request(`${pipeline.url}/v1/admin/dead-letters/replay`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"ids": 5}',
      });
      expect(bad.status).toBe(400);
      expect(bad.body.error.code).toBe('INVALID_BODY');
    });
  });
}

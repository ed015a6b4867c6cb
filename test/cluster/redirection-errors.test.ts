/**
 * What a half-moved slot does to the cluster client, provoked for real: a multi-key script
 * meets TRYAGAIN until ioredis gives up ("Too many Cluster redirections"), and a pipeline of
 * writes comes back with an ASK reply for the keys already moved. Neither ran; both must be
 * "unavailable" (503 or retry), never "rejected" (a 500, or a dead letter).
 */
import { Cluster } from 'ioredis';
import { startPrivateCluster, type PrivateCluster } from '../../launcher/private-cluster';
import { classifyRedisError } from '../../shared/store/redis-errors';
import { SlotMover } from '../support/cluster-reshard';

/** The error a call rejects with (fails the test when it succeeds). */
async function failureOf(call: Promise<unknown>): Promise<unknown> {
  return call.then(
    (value) => {
      throw new Error(`expected a failure, got ${JSON.stringify(value)}`);
    },
    (error: unknown) => error,
  );
}

const TWO_KEY_WRITE = "redis.call('INCR', KEYS[1]); return redis.call('INCR', KEYS[2])";

describe('a half-moved slot as the cluster client reports it', () => {
  let cluster: PrivateCluster;
  let client: Cluster;
  let mover: SlotMover;

  beforeAll(async () => {
    cluster = await startPrivateCluster({ masters: 3, replicasPerMaster: 0 });
    mover = await SlotMover.connect(cluster.seeds.split(',')[0]!);
    client = new Cluster(
      cluster.seeds.split(',').map((seed) => ({ host: '127.0.0.1', port: Number(seed.split(':')[1]) })),
      { redisOptions: { maxRetriesPerRequest: 1 }, maxRedirections: 4, retryDelayOnTryAgain: 20 },
    );
    client.on('error', () => undefined);
  });
  afterAll(async () => {
    client?.disconnect();
    mover?.close();
    await cluster?.destroy();
  });

  test('a multi-key script meeting TRYAGAIN until the client gives up is unavailable, and nothing ran', async () => {
    const keys = ['{tryagain}:a', '{tryagain}:b'];
    for (const key of keys) await client.set(key, '0');
    const slot = await mover.slotOf(keys[0]!);
    const target = await mover.nextOwnerFor(slot);
    let failure: unknown;
    const before = await mover.errorReplies();
    await mover.moveSlot(slot, target.id, {
      keysPerMigrate: 1,
      betweenChunks: async (move) => {
        // One key moved, one not: the source answers TRYAGAIN for as long as this lasts.
        if (move.chunks === 1) failure = await failureOf(client.eval(TWO_KEY_WRITE, 2, ...keys));
      },
    });
    // Its retries go to a random node first, so the last error may be a MOVED; the source's TRYAGAINs are counted.
    expect(String(failure)).toMatch(/^Error: Too many Cluster redirections\./);
    expect((await mover.errorReplies()).TRYAGAIN ?? 0).toBeGreaterThan(before.TRYAGAIN ?? 0);
    expect(classifyRedisError(failure)).toBe('unavailable');
    expect(await client.mget(...keys)).toEqual(['0', '0']);
  });

  test('a pipeline of writes half on the moved keys gets ASK for those: unavailable, and they did not run', async () => {
    const keys = ['{ask}:a', '{ask}:b'];
    for (const key of keys) await client.set(key, '0');
    const slot = await mover.slotOf(keys[0]!);
    const target = await mover.nextOwnerFor(slot);
    let replies: [Error | null, unknown][] = [];
    await mover.moveSlot(slot, target.id, {
      keysPerMigrate: 1,
      betweenChunks: async (move) => {
        if (move.chunks === 1)
          replies = ((await client.pipeline().incr(keys[0]!).incr(keys[1]!).exec()) ?? []) as [Error | null, unknown][];
      },
    });
    const failed = replies.filter(([error]) => error !== null);
    expect(failed).toHaveLength(1);
    expect(String(failed[0]![0])).toMatch(/^ReplyError: ASK /);
    expect(classifyRedisError(failed[0]![0])).toBe('unavailable');
    // The key still on the source was incremented, the moved one not.
    expect((await client.mget(...keys)).sort()).toEqual(['0', '1']);
  });
});

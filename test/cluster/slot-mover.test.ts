/**
 * The slot mover of the reshard tests on a bare cluster: slots move with their keys while
 * writers run multi-key scripts on them and a consumer blocks in XREADGROUP on their streams,
 * and every write is read and counted exactly once.
 */
import { Cluster } from 'ioredis';
import { startPrivateCluster, type PrivateCluster } from '../../launcher/private-cluster';
import { isTransientRedisError } from '../../shared/store/redis-errors';
import { SlotMover, type SlotMove } from '../support/cluster-reshard';

const TAGS = ['{m0}', '{m1}', '{m2}'];
const WRITERS_PER_TAG = 3;
/** Each write once (its own marker key, new each time, so a half-moved slot answers TRYAGAIN). */
const WRITE_ONCE = `
if redis.call('SET', KEYS[3], 1, 'NX') then
  redis.call('XADD', KEYS[1], '*', 'w', ARGV[1])
  redis.call('INCR', KEYS[2])
end
return 1`;
/** Acknowledges and counts in one step: an entry acknowledged before is not counted again. */
const ACK_AND_COUNT = `
local acked = redis.call('XACK', KEYS[1], ARGV[1], unpack(ARGV, 2))
redis.call('INCRBY', KEYS[2], acked)
return acked`;

type Entries = [string, [string, string[]][]][] | null;

describe('moving slots under a load of scripts and blocking reads', () => {
  let cluster: PrivateCluster;
  let mover: SlotMover;
  const clients: Cluster[] = [];
  const clusterClient = () => {
    const nodes = cluster.seeds.split(',').map((seed) => ({ host: '127.0.0.1', port: Number(seed.split(':')[1]) }));
    const client = new Cluster(nodes, { redisOptions: { maxRetriesPerRequest: 1 } });
    client.on('error', () => undefined);
    clients.push(client);
    return client;
  };

  beforeAll(async () => {
    cluster = await startPrivateCluster({ masters: 3, replicasPerMaster: 0 });
    mover = await SlotMover.connect(cluster.seeds.split(',')[0]!);
  });
  afterAll(async () => {
    for (const client of clients) client.disconnect();
    mover?.close();
    await cluster?.destroy();
  });

  test('every slot moves with its keys and every write is read and counted once', async () => {
    const writer = clusterClient();
    const reader = clusterClient();
    for (const tag of TAGS) await writer.xgroup('CREATE', `${tag}:stream`, 'g', '0', 'MKSTREAM');
    let running = true;
    let writes = 0;
    let retried = 0;
    // Every wait and retry gives up before the test's timeout: a master that stops answering
    // (Redis 7.2.0 to 7.2.6 crash here) fails the test, instead of leaving its loops spinning
    // in the jest worker after the timeout.
    const giveUpAt = Date.now() + 45_000;
    const pastDeadline = (what: string) => {
      if (Date.now() > giveUpAt) throw new Error(`${what}: no progress within 45 s`);
    };
    const progressTo = async (count: number, what: string) => {
      while (writes < count) {
        pastDeadline(what);
        await new Promise((r) => setTimeout(r, 5));
      }
    };
    const retrying = async (call: () => Promise<unknown>) => {
      for (;;) {
        try {
          return await call();
        } catch (error) {
          if (!isTransientRedisError(error)) throw error;
          pastDeadline(`retrying after ${(error as Error).message}`);
          retried += 1;
        }
      }
    };
    const writeLoop = async (tag: string, id: number) => {
      for (let n = 0; running; n += 1) {
        await retrying(() => writer.eval(WRITE_ONCE, 3, `${tag}:stream`, `${tag}:written`, `${tag}:once:${id}:${n}`, `${id}:${n}`));
        writes += 1;
      }
    };
    const readLoop = async (tag: string) => {
      // Own pending entries first (a failed acknowledgement), then new ones; BLOCK waits on the moving stream.
      let from = '0';
      for (;;) {
        const read = (await retrying(() =>
          reader.xreadgroup('GROUP', 'g', 'c', 'COUNT', 50, 'BLOCK', 200, 'STREAMS', `${tag}:stream`, from),
        )) as Entries;
        const ids = (read?.[0]?.[1] ?? []).map(([id]) => id);
        if (ids.length > 0) await retrying(() => reader.eval(ACK_AND_COUNT, 2, `${tag}:stream`, `${tag}:counted`, 'g', ...ids));
        if (from === '0' && ids.length === 0) from = '>';
        else if (!running && ids.length === 0) return;
      }
    };
    const loops = [...TAGS.flatMap((tag) => Array.from({ length: WRITERS_PER_TAG }, (_, id) => writeLoop(tag, id))), ...TAGS.map(readLoop)];

    const moves: SlotMove[] = [];
    let errorsBefore: Record<string, number> = {};
    try {
      // Enough keys in every slot for several chunks.
      await progressTo(300, 'the first 300 writes');
      errorsBefore = await mover.errorReplies();
      for (const tag of TAGS) {
        const slot = await mover.slotOf(tag);
        const owner = await mover.ownerOf(slot);
        const target = await mover.nextOwnerFor(slot);
        moves.push(
          await mover.moveSlot(slot, target.id, {
            keysPerMigrate: 20,
            // Let the writers make progress against the half-moved slot after every chunk.
            betweenChunks: async () => {
              await progressTo(writes + 20, 'writes against the half-moved slot');
            },
          }),
        );
        expect((await mover.ownerOf(slot)).id).not.toBe(owner.id);
      }
    } finally {
      running = false;
      await Promise.all(loops);
    }

    for (const tag of TAGS) {
      const [length, written, counted, pending] = await Promise.all([
        writer.xlen(`${tag}:stream`),
        writer.get(`${tag}:written`),
        writer.get(`${tag}:counted`),
        writer.xpending(`${tag}:stream`, 'g') as Promise<[number, ...unknown[]]>,
      ]);
      expect({ tag, length, written: Number(written), counted: Number(counted), pending: pending[0] }).toEqual({
        tag,
        length,
        written: length,
        counted: length,
        pending: 0,
      });
    }
    const total = (await Promise.all(TAGS.map((tag) => writer.xlen(`${tag}:stream`)))).reduce((a, b) => a + b, 0);
    expect(total).toBe(writes);
    // Each slot moved in several chunks, and the load met the moves: TRYAGAIN for the scripts, ASK for single keys.
    for (const move of moves) expect(move.chunks).toBeGreaterThan(1);
    const errorsAfter = await mover.errorReplies();
    const met = (code: string) => (errorsAfter[code] ?? 0) - (errorsBefore[code] ?? 0);
    expect(met('TRYAGAIN') + met('ASK')).toBeGreaterThan(0);
    process.stderr.write(
      `slot moves: ${JSON.stringify(moves.map(({ slot, keys, chunks }) => ({ slot, keys, chunks })))}; writes ${writes}, client retries ${retried}, TRYAGAIN ${met('TRYAGAIN')}, ASK ${met('ASK')}, MOVED ${met('MOVED')}\n`,
    );
  });
});

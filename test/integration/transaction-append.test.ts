/**
 * The append of requests without Idempotency-Keys on one Redis (shared/store/transaction-append.ts
 * through SampleAppender): one transaction per group, refused atomically while a partition count
 * change runs or after the count changed, including when the change starts between two groups
 * (the WATCH held on the connection) or the connection was replaced meanwhile. On a private Redis:
 * it kills connections and fills memory.
 */
import Redis from 'ioredis';
import { startPrivateRedis, type PrivateRedis } from '../../launcher/private-redis';
import { allPartitionKeys, globalKeys } from '../../shared/store/keys';
import { classifyRedisError } from '../../shared/store/redis-errors';
import { SampleAppender, type AppendRequest, type GroupAppendResult } from '../../shared/store/sample-append';
import { ENTRY_FIELD, GROUP_FIELD } from '../../shared/store/entry-codec';

const PREFIX = 'txa';
const PARTITIONS = 4;

describe('append in a transaction', () => {
  let server: PrivateRedis;
  let admin: Redis;
  let redis: Redis;
  let appender: SampleAppender;
  const streams = allPartitionKeys(PREFIX, PARTITIONS).map((p) => p.stream);
  const globals = globalKeys(PREFIX);
  let group = 0;

  const request = (partition: number, node: string): AppendRequest => ({
    parts: [{ partition, lines: `N\t${node}\t1\t1\t1\t1` }],
    samples: 1,
  });
  const lengths = () => Promise.all(streams.map((s) => admin.xlen(s)));
  const calls = async (command: string) => {
    const line = (await admin.info('commandstats')).split('\r\n').find((l) => l.startsWith(`cmdstat_${command}:`));
    return line ? Number(/calls=(\d+)/.exec(line)![1]) : 0;
  };
  const append = (requests: AppendRequest[]) => appender.append(`g${++group}`, requests);
  const appended = (result: GroupAppendResult) => {
    if (result.kind !== 'appended') throw new Error(`expected appended, got ${JSON.stringify(result)}`);
    return result.outcomes;
  };

  beforeAll(async () => {
    server = await startPrivateRedis();
    admin = new Redis(server.port, '127.0.0.1');
    redis = new Redis(server.port, '127.0.0.1', { connectionName: 'txa-append' });
    appender = new SampleAppender(redis, PREFIX, PARTITIONS);
  });
  afterAll(async () => {
    redis.disconnect();
    admin.disconnect();
    await server.destroy();
  });
  afterEach(async () => {
    await admin.del(globals.partitionChange, globals.partitionCount);
  });

  test("a group's lines go into one entry per partition with the group id, in one transaction and no script", async () => {
    const [evalsBefore, execsBefore] = [await calls('evalsha'), await calls('exec')];
    const result = await append([request(1, 'a'), request(3, 'b'), request(1, 'c')]);
    const outcomes = appended(result);
    expect(await calls('evalsha')).toBe(evalsBefore);
    expect(await calls('exec')).toBe(execsBefore + 1);
    const ids = outcomes.map((o) => (o.kind === 'stored' ? o.ids : []));
    expect(ids[0]).toEqual(ids[2]);
    const [entry] = (await admin.xrange(streams[1]!, ids[0]![0]!, ids[0]![0]!)) as [string, string[]][];
    expect(entry![1]).toEqual([ENTRY_FIELD, 'N\ta\t1\t1\t1\t1\nN\tc\t1\t1\t1\t1', GROUP_FIELD, `g${group}`]);
    const [other] = (await admin.xrange(streams[3]!, ids[1]![0]!, ids[1]![0]!)) as [string, string[]][];
    expect(other![1]).toEqual([ENTRY_FIELD, 'N\tb\t1\t1\t1\t1', GROUP_FIELD, `g${group}`]);
    expect(outcomes[0]).toEqual({ kind: 'stored', ids: ids[0], accepted: 1, replayed: false });
  });

  test('a change in progress pauses the group, another recorded count asks for a recount, and nothing is appended', async () => {
    const before = await lengths();
    await admin.set(globals.partitionChange, JSON.stringify({ from: 4, to: 8, started_at: 'now' }));
    expect(await append([request(0, 'd'), request(2, 'e')])).toEqual({ kind: 'paused' });
    await admin.del(globals.partitionChange);
    await admin.set(globals.partitionCount, '8');
    expect(await append([request(0, 'd')])).toEqual({ kind: 'recount', partitions: 8 });
    expect(await lengths()).toEqual(before);
    await admin.set(globals.partitionCount, String(PARTITIONS));
    appended(await append([request(0, 'd')]));
    expect((await lengths())[0]).toBe(before[0]! + 1);
  });

  test('a change that starts between two groups makes the next EXEC run nothing: the WATCH held', async () => {
    appended(await append([request(2, 'f')]));
    const before = await lengths();
    const execsBefore = await calls('exec');
    // The appender's connection watches since its last transaction; the change starts now.
    await admin.set(globals.partitionChange, JSON.stringify({ from: 4, to: 2, started_at: 'now' }));
    expect(await append([request(2, 'g'), request(0, 'h')])).toEqual({ kind: 'paused' });
    // The transaction went out with the guard read before the change, and EXEC refused it.
    expect(await calls('exec')).toBe(execsBefore + 1);
    expect(await lengths()).toEqual(before);
  });

  test('a connection replaced between two groups is watched again before its next EXEC', async () => {
    appended(await append([request(1, 'i')]));
    const before = await lengths();
    await admin.set(globals.partitionChange, JSON.stringify({ from: 4, to: 2, started_at: 'now' }));
    const killed = await admin.client('KILL', 'TYPE', 'normal', 'SKIPME', 'yes');
    expect(Number(killed)).toBeGreaterThan(0);
    // Until the connection is back, a group is refused unsent; once back, it is paused.
    let result: GroupAppendResult | undefined;
    for (let attempt = 0; attempt < 50 && result === undefined; attempt++) {
      result = await append([request(1, 'j')]).catch((error: unknown) => {
        expect(classifyRedisError(error)).toMatch(/^(not-sent|unavailable)$/);
        return new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 50));
      });
    }
    expect(result).toEqual({ kind: 'paused' });
    expect(await lengths()).toEqual(before);
    await admin.del(globals.partitionChange);
    appended(await append([request(1, 'j')]));
  });

  test('groups submitted together go one after the other, each in its own entry', async () => {
    const before = await lengths();
    const results = await Promise.all([append([request(0, 'k')]), append([request(0, 'l')]), append([request(0, 'm')])]);
    const ids = results.map((r) => appended(r)[0]).map((o) => (o!.kind === 'stored' ? o!.ids[0] : ''));
    expect(new Set(ids).size).toBe(3);
    expect((await lengths())[0]).toBe(before[0]! + 3);
  });

  test('over maxmemory the group is refused as out of memory, nothing is appended, and the next group goes in', async () => {
    appended(await append([request(3, 'n')]));
    const before = await lengths();
    await admin.config('SET', 'maxmemory-policy', 'noeviction');
    await admin.config('SET', 'maxmemory', '1');
    try {
      const error = await append([request(3, 'o'), request(1, 'p')]).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(classifyRedisError(error)).toBe('out-of-memory');
    } finally {
      await admin.config('SET', 'maxmemory', '0');
    }
    expect(await lengths()).toEqual(before);
    appended(await append([request(3, 'o'), request(1, 'p')]));
  });

  test('replicas asked for and missing: the group is stored but unconfirmed', async () => {
    const waiting = new SampleAppender(redis, PREFIX, PARTITIONS, { replicas: 1, timeoutMs: 50 });
    const [outcome] = appended(await waiting.append('g-wait', [request(2, 'q')]));
    expect(outcome!.kind).toBe('unreplicated');
  });
  test('a connection that closes with the group unanswered fails the group at once, and a later group goes in', async () => {
    appended(await append([request(0, 'x')]));
    // Redis frozen: the transaction goes out and nothing of it is answered; then Redis dies under it.
    process.kill(server.process.pid!, 'SIGSTOP');
    const inFlight = append([request(0, 'y')]).then(
      () => undefined,
      (error: unknown) => error,
    );
    await new Promise((resolve) => setTimeout(resolve, 100));
    await server.stop('SIGKILL');
    await server.restart();
    // Back before the client gave up reconnecting: without a command timeout (this client has
    // none), ioredis would leave the group unanswered for ever once reconnected.
    expect(classifyRedisError(await inFlight)).toBe('unavailable');
    let result: GroupAppendResult | undefined;
    for (let attempt = 0; attempt < 100 && result === undefined; attempt++) {
      result = await append([request(0, 'z')]).catch(() => new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 50)));
    }
    appended(result!);
    expect(await lengths()).toEqual([1, 0, 0, 0]);
  });
});

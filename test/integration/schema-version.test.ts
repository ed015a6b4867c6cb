/**
 * The storage format is recorded at first start; a service meeting data of another format,
 * or data written before formats were recorded, refuses to start and says what to do.
 */
import { startIngest } from '../../ingest/server';
import { loadConfig } from '../../shared/config';
import type { RedisClient } from '../../shared/redis';
import { globalKeys, partitionKeys } from '../../shared/store/keys';
import { checkSchemaVersion, STORAGE_SCHEMA_VERSION } from '../../shared/store/schema-version';
import { startWorker } from '../../worker/server';
import { deletePrefix, quietLogger, testEnv, testRedis } from '../support/test-config';

describe('storage schema version', () => {
  let redis: RedisClient;
  const prefixes: string[] = [];

  function freshEnv(): Record<string, string> {
    const env = testEnv({ STREAM_PARTITIONS: '1' });
    prefixes.push(env.KEY_PREFIX!);
    return env;
  }

  beforeAll(async () => {
    redis = testRedis(loadConfig(testEnv()));
    await redis.connect();
  });
  afterAll(async () => {
    for (const prefix of prefixes) await deletePrefix(redis, prefix);
    await redis.quit();
  });

  test('the first start records the version; later starts with it go on', async () => {
    const env = freshEnv();
    const worker = await startWorker(loadConfig(env), quietLogger);
    await worker.close();
    expect(await redis.get(globalKeys(env.KEY_PREFIX!).schemaVersion)).toBe(String(STORAGE_SCHEMA_VERSION));
    const again = await startWorker(loadConfig(env), quietLogger);
    await again.close();
  });

  test('data of another recorded version: both services refuse to start, naming the versions and what to do', async () => {
    const env = freshEnv();
    const newer = String(STORAGE_SCHEMA_VERSION + 1);
    await redis.set(globalKeys(env.KEY_PREFIX!).schemaVersion, newer);
    const refusal = new RegExp(
      `stored in format ${newer}, but this version reads and writes format ${STORAGE_SCHEMA_VERSION}.*another KEY_PREFIX`,
    );
    await expect(startWorker(loadConfig(env), quietLogger)).rejects.toThrow(refusal);
    await expect(startIngest(loadConfig(env), quietLogger)).rejects.toThrow(refusal);
    // Nothing was written: the recorded version stays.
    expect(await redis.get(globalKeys(env.KEY_PREFIX!).schemaVersion)).toBe(newer);
    expect(await redis.get(globalKeys(env.KEY_PREFIX!).partitionCount)).toBeNull();
  });

  test('the layout of format 2 (partition tags {p<i>}, whatever the count) is refused, saying what changed and what to do', async () => {
    const env = freshEnv();
    const prefix = env.KEY_PREFIX!;
    await redis.set(globalKeys(prefix).schemaVersion, '2');
    await redis.set(globalKeys(prefix).partitionCount, '1');
    await redis.hset(`${prefix}:{p0}:meta`, 'partitions', '1');
    const refusal =
      /stored in format 2, but this version reads and writes format 5 \(in format 2 partition keys carried the tags \{p<i>\}.*another KEY_PREFIX/;
    await expect(startWorker(loadConfig(env), quietLogger)).rejects.toThrow(refusal);
    await expect(startIngest(loadConfig(env), quietLogger)).rejects.toThrow(refusal);
    // The old data stays as it was.
    expect(await redis.get(globalKeys(prefix).schemaVersion)).toBe('2');
    expect(await redis.hgetall(`${prefix}:{p0}:meta`)).toEqual({ partitions: '1' });
  });

  test("format 4 (a node's seconds as a hash per node and hour) is refused, saying what changed", async () => {
    const env = freshEnv();
    const prefix = env.KEY_PREFIX!;
    await redis.set(globalKeys(prefix).schemaVersion, '4');
    await redis.set(globalKeys(prefix).partitionCount, '1');
    // Format 4's seconds of node web-1 in hour 472,222.
    const seconds = partitionKeys(prefix, 0, 1).named('node:s:472222:web-1');
    await redis.hset(seconds, '1700000000', 'bucket');
    const refusal =
      /stored in format 4, but this version reads and writes format 5 \(in format 4 a node's 1-second buckets were a hash per node and hour, now fields of one hash per partition and minute\).*another KEY_PREFIX/;
    await expect(startWorker(loadConfig(env), quietLogger)).rejects.toThrow(refusal);
    await expect(startIngest(loadConfig(env), quietLogger)).rejects.toThrow(refusal);
    expect(await redis.hgetall(seconds)).toEqual({ '1700000000': 'bucket' });
  });

  test('data written before versions were recorded (a partition count, no version) counts as format 1', async () => {
    const env = freshEnv();
    await redis.set(globalKeys(env.KEY_PREFIX!).partitionCount, '1');
    await expect(checkSchemaVersion(redis, env.KEY_PREFIX!)).rejects.toThrow(/stored in format 1/);
    expect(await redis.get(globalKeys(env.KEY_PREFIX!).schemaVersion)).toBeNull();
  });
});

/**
 * The apply's script call encodes its own arguments (shared/store/encoded-script.ts): the
 * bytes must reach the script exactly, and the call must survive a Redis that lost its
 * scripts (a restart, a failover), as scripts ioredis defines do. A private Redis: the test
 * flushes its scripts.
 */
import { startPrivateRedis, type PrivateRedis } from '../../launcher/private-redis';
import { createRedisClient, type RedisClient } from '../../shared/redis';
import { encodeBulkStrings, EncodedScript, type EncodedArg } from '../../shared/store/encoded-script';
import { loadConfig } from '../../shared/config';

/** Answers its key, then every argument with its length in bytes. */
const ECHO = `
local out = { KEYS[1] }
for i = 1, #ARGV do
  out[#out + 1] = ARGV[i]
  out[#out + 1] = #ARGV[i]
end
return out`;

describe('a script call with arguments encoded by the store', () => {
  let server: PrivateRedis;
  let redis: RedisClient;
  const script = new EncodedScript(ECHO);
  const call = (args: readonly EncodedArg[]) => script.call(redis, ['k:é'], encodeBulkStrings(args), args.length);

  beforeAll(async () => {
    server = await startPrivateRedis();
    redis = createRedisClient(loadConfig({ REDIS_URL: server.url }), { connectionName: 'encoded-script-test' });
    await redis.connect();
  });
  afterAll(async () => {
    await redis.quit();
    await server.destroy();
  });

  test('every argument arrives byte for byte: text in UTF-8, numbers as decimals, binary as is, the empty string', async () => {
    const binary = Buffer.from([0, 13, 10, 36, 42, 0x7f]);
    const reply = (await call(['web-1', 'ünïcode ✓', 1795742188035, -0.5, binary, '', '$3\r\nnot a header'])) as (string | number)[];
    expect(reply).toEqual([
      'k:é',
      'web-1',
      5,
      'ünïcode ✓',
      Buffer.byteLength('ünïcode ✓'),
      '1795742188035',
      13,
      '-0.5',
      4,
      binary.toString('latin1'),
      6,
      '',
      0,
      '$3\r\nnot a header',
      16,
    ]);
  });

  test('after Redis lost its scripts (SCRIPT FLUSH), the next call loads the script again and answers', async () => {
    await call(['before']);
    expect(await redis.script('EXISTS', script.sha)).toEqual([1]);
    await redis.script('FLUSH');
    expect(await redis.script('EXISTS', script.sha)).toEqual([0]);
    expect(await call(['after'])).toEqual(['k:é', 'after', 5]);
    expect(await redis.script('EXISTS', script.sha)).toEqual([1]);
  });

  test('in a pipeline with a command after it, a lost script sends the whole pipeline again: every reply, the script run once', async () => {
    const counting = new EncodedScript("return redis.call('INCR', KEYS[1])");
    const key = 'encoded-script-test:runs';
    await redis.del(key);
    const callThen = () => counting.callThen(redis, [key], encodeBulkStrings([]), 0, (pipeline) => pipeline.get(key));
    expect(await callThen()).toEqual([
      [null, 1],
      [null, '1'],
    ]);
    await redis.script('FLUSH');
    expect(await callThen()).toEqual([
      [null, 2],
      [null, '2'],
    ]);
  });

  test('an error the script raises reaches the caller, and the connection stays usable', async () => {
    const failing = new EncodedScript("return redis.error_reply('refused: ' .. ARGV[1])");
    await expect(failing.call(redis, ['k'], encodeBulkStrings(['x']), 1)).rejects.toThrow('refused: x');
    expect(await call(['still'])).toEqual(['k:é', 'still', 5]);
  });
});

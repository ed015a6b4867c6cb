import { ConfigError, loadConfig, parseClusterSeeds } from '../../shared/config';

describe('configuration', () => {
  test('defaults need no environment', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({ redisUrl: 'redis://127.0.0.1:6379', streamPartitions: 4, ingestPort: 8080 });
    expect(Object.isFrozen(config)).toBe(true);
  });

  test('every bad variable is named at once, with what it accepts', () => {
    try {
      loadConfig({ STREAM_PARTITIONS: 'many', REDIS_URL: 'http://x', INGEST_PORT: '70000' });
      throw new Error('expected a ConfigError');
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      const message = (error as Error).message;
      expect(message).toContain('STREAM_PARTITIONS="many"');
      expect(message).toContain('REDIS_URL');
      expect(message).toContain('INGEST_PORT');
      expect(message).toContain('an integer from 1 to 1024');
    }
  });

  test('rediss:// with a password is accepted', () => {
    expect(loadConfig({ REDIS_URL: 'rediss://:s3cret@redis.example:6380' }).redisUrl).toBe('rediss://:s3cret@redis.example:6380');
  });

  test('REDIS_CLUSTER_NODES: empty is one Redis; seeds are host:port lists, IPv6 in brackets', () => {
    expect(loadConfig({}).redisClusterNodes).toBe('');
    expect(loadConfig({ REDIS_CLUSTER_NODES: 'redis-0.redis:6379, 10.0.0.2:7001,[::1]:7002' }).redisClusterNodes).toBe(
      'redis-0.redis:6379, 10.0.0.2:7001,[::1]:7002',
    );
    expect(parseClusterSeeds('redis-0.redis:6379, [::1]:7002')).toEqual([
      { host: 'redis-0.redis', port: 6379 },
      { host: '::1', port: 7002 },
    ]);
  });

  test.each(['redis-0', 'a:6379,', 'a:0', 'a:65536', 'redis://a:6379', 'a:6379;b:6380', '::1:7000'])(
    'REDIS_CLUSTER_NODES=%j is refused with what it accepts',
    (seeds) => {
      expect(() => loadConfig({ REDIS_CLUSTER_NODES: seeds })).toThrow(ConfigError);
      expect(() => loadConfig({ REDIS_CLUSTER_NODES: seeds })).toThrow('host:port seeds separated by commas');
    },
  );

  test('a cluster has only database 0: REDIS_URL naming another is refused in cluster mode only', () => {
    expect(loadConfig({ REDIS_URL: 'redis://:pw@x:6379/2' }).redisUrl).toBe('redis://:pw@x:6379/2');
    expect(() => loadConfig({ REDIS_URL: 'redis://:pw@x:6379/2', REDIS_CLUSTER_NODES: 'a:7000' })).toThrow('only database 0');
    expect(loadConfig({ REDIS_URL: 'rediss://:pw@x:6379/0', REDIS_CLUSTER_NODES: 'a:7000' }).redisClusterNodes).toBe('a:7000');
  });

  test('replica waits: off by default; a count above 16, or a timeout of 0 (WAIT forever) or above a minute, is refused', () => {
    expect(loadConfig({})).toMatchObject({ redisWaitReplicas: 0, redisWaitTimeoutMs: 1000 });
    expect(loadConfig({ REDIS_WAIT_REPLICAS: '2', REDIS_WAIT_TIMEOUT_MS: '250' })).toMatchObject({
      redisWaitReplicas: 2,
      redisWaitTimeoutMs: 250,
    });
    for (const [name, value, accepts] of [
      ['REDIS_WAIT_REPLICAS', '17', 'an integer from 0 to 16'],
      ['REDIS_WAIT_REPLICAS', '-1', 'an integer from 0 to 16'],
      ['REDIS_WAIT_TIMEOUT_MS', '0', 'an integer from 10 to 60000'],
      ['REDIS_WAIT_TIMEOUT_MS', '60001', 'an integer from 10 to 60000'],
    ]) {
      expect(() => loadConfig({ [name!]: value })).toThrow(`${name}="${value}" is not valid: expected ${accepts}.`);
    }
  });
});

/**
 * The node name index (the sorted set that pages the node list by name) follows the node
 * set: a node joins it with the apply that adds it to the node set, and applies of known
 * nodes leave the index alone.
 */
import Redis from 'ioredis';
import { AggregateStore } from '../../shared/store/batch-apply';
import { allPartitionKeys } from '../../shared/store/keys';
import { baseTime } from '../support/build-sample';
import { pendingEntry } from '../support/pending-entry';
import { privateRedisOfBlock } from '../support/private-redis-of-block';
import { testConfig } from '../support/test-config';
import { watchCommands } from '../support/watched-commands';

describe('the node name index', () => {
  const privateRedis = privateRedisOfBlock();

  test('takes a node with the apply that adds it to the node set, and is not written by applies of known nodes', async () => {
    const redis = privateRedis();
    const config = testConfig({ REDIS_URL: redis.url, STREAM_PARTITIONS: '1' });
    const [keys] = allPartitionKeys(config.keyPrefix, config.streamPartitions);
    const indexWrites: string[][] = [];
    const watched = await watchCommands(redis.url, (args) => {
      if (args[0]?.toLowerCase() === 'zadd' && args[1] === keys!.nodeNames) indexWrites.push(args.slice(2));
    });
    const client = new Redis(redis.url);
    const store = new AggregateStore(client, config.consumerGroup, 'c1');
    const apply = async (nodes: string[], at: number) => {
      const entry = await pendingEntry(client, keys!, config.consumerGroup, nodes, at);
      expect(await store.applyBatch(keys!, [entry])).toEqual({ applied: 1, skipped: 0, samples: nodes.length });
    };
    const settled = () => watched.settled(client);
    try {
      const at = baseTime();
      await apply(['alpha'], at);
      await settled();
      expect(indexWrites).toEqual([['NX', '0', 'alpha']]);
      await apply(['alpha'], at + 1000);
      await settled();
      expect(indexWrites).toHaveLength(1);
      await apply(['alpha', 'beta'], at + 2000);
      await settled();
      expect(indexWrites).toHaveLength(2);
      expect(await client.zrange(keys!.nodeNames, '-', '+', 'BYLEX')).toEqual(['alpha', 'beta']);
      expect(await client.zrange(keys!.nodes, 0, -1)).toEqual(['alpha', 'beta']);
    } finally {
      await watched.stop();
      await client.quit();
    }
  }, 60_000);

  test('takes a forgotten node again when it posts again', async () => {
    const redis = privateRedis();
    const config = testConfig({ REDIS_URL: redis.url, STREAM_PARTITIONS: '1', KEY_PREFIX: 'forgotten' });
    const [keys] = allPartitionKeys(config.keyPrefix, config.streamPartitions);
    const client = new Redis(redis.url);
    const store = new AggregateStore(client, config.consumerGroup, 'c1');
    try {
      const at = baseTime();
      const first = await pendingEntry(client, keys!, config.consumerGroup, ['gamma', 'delta'], at);
      await store.applyBatch(keys!, [first]);
      // What the apply's node prune does to a node not seen for NODE_RETENTION.
      await client.zrem(keys!.nodes, 'gamma');
      await client.zrem(keys!.nodeNames, 'gamma');
      await client.hdel(keys!.nodeSummaries, 'gamma');
      const again = await pendingEntry(client, keys!, config.consumerGroup, ['gamma', 'delta'], at + 1000);
      await store.applyBatch(keys!, [again]);
      expect(await client.zrange(keys!.nodeNames, '-', '+', 'BYLEX')).toEqual(['delta', 'gamma']);
    } finally {
      await client.quit();
    }
  }, 60_000);
});

/**
 * Commands without keys describe one server (INFO, SCAN, CLIENT, SCRIPT): on a Redis
 * Cluster they must go to each master in turn, never to whichever node the client picks.
 */
import type Redis from 'ioredis';
import { isCluster, type RedisClient } from '../redis';

/** The server connections to ask: the one Redis, or every master of the cluster. */
export function masterNodes(redis: RedisClient): Redis[] {
  return isCluster(redis) ? redis.nodes('master') : [redis];
}

/** `host:port` of a server connection (a cluster node's address as the cluster names it). */
export function nodeAddress(node: Redis): string {
  return `${node.options.host ?? '127.0.0.1'}:${node.options.port ?? 6379}`;
}

/**
 * Every key matching `pattern`, a SCAN page at a time, master after master. A key a live
 * reshard moves meanwhile may be met twice or missed: callers' steps are idempotent and
 * partition changes are not run during a reshard.
 */
export async function* scanKeys(redis: RedisClient, pattern: string, count = 1000): AsyncGenerator<string[]> {
  for (const node of masterNodes(redis)) {
    let cursor = '0';
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', count);
      cursor = next;
      if (keys.length > 0) yield keys;
    } while (cursor !== '0');
  }
}

/**
 * Every aggregate a prefix holds, as one comparable text: two applies of the same samples
 * must leave equal snapshots. The streams and the apply's own bookkeeping (the time of
 * the last apply) are left out; of an expiry, only whether a key has one; of a node's time
 * in the node set, only its step (node-times.ts: the transaction writes it once a step).
 */
import type Redis from 'ioredis';
import { NODE_TIME_STEP_MS } from '../shared/store/node-times';

const BOOKKEEPING_FIELDS = new Set(['last_applied_ms']);

export async function aggregatesOf(redis: Redis, prefix: string): Promise<string> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, page] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    keys.push(...page);
    cursor = next;
  } while (cursor !== '0');
  const lines: string[] = [];
  for (const key of keys.sort()) {
    const type = await redis.type(key);
    if (type === 'stream') continue;
    const expires = (await redis.ttl(key)) >= 0;
    let value: string;
    if (type === 'hash') {
      const fields = await redis.hgetallBuffer(key);
      value = Object.keys(fields)
        .filter((field) => !BOOKKEEPING_FIELDS.has(field))
        .sort()
        .map((field) => `${field}=${fields[field]!.toString('hex')}`)
        .join(',');
      if (value === '') continue;
    } else if (type === 'zset') {
      const flat = await redis.zrange(key, 0, -1, 'WITHSCORES');
      if (!key.endsWith(':nodes')) value = flat.join(',');
      else {
        const steps: string[] = [];
        for (let i = 0; i + 1 < flat.length; i += 2) steps.push(`${flat[i]}=step ${Math.floor(Number(flat[i + 1]) / NODE_TIME_STEP_MS)}`);
        value = steps.sort().join(',');
      }
    } else if (type === 'string') value = (await redis.getBuffer(key))?.toString('hex') ?? '';
    else value = type;
    lines.push(`${key} ${type} ${expires ? 'expires' : 'lasts'} ${value}`);
  }
  return lines.join('\n');
}

/**
 * Every aggregate a prefix holds, as one comparable text: two applies of the same samples
 * must leave equal snapshots. The streams and the apply's own bookkeeping (the time of
 * the last apply) are left out; of an expiry, only whether a key has one.
 */
import type Redis from 'ioredis';

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
    } else if (type === 'zset') value = (await redis.zrange(key, 0, -1, 'WITHSCORES')).join(',');
    else if (type === 'string') value = (await redis.getBuffer(key))?.toString('hex') ?? '';
    else value = type;
    lines.push(`${key} ${type} ${expires ? 'expires' : 'lasts'} ${value}`);
  }
  return lines.join('\n');
}

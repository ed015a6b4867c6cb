/**
 * Every Lua script of the store, registered once per client with its type. A script is
 * `lua/<file>.lua`; the table below names its ioredis command and how many keys it takes
 * (undefined: the caller passes the key count first, for scripts whose key count varies).
 * Callers get typed commands on the client (ioredis module augmentation), never a cast.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Redis, Result } from 'ioredis';

type Arg = string | number;

declare module 'ioredis' {
  interface RedisCommander<Context> {
    /** append-samples.lua: numKeys, then keys and arguments as the script documents; numeric codes and ids (sample-append.ts reads them). */
    appendSamples(args: Arg[]): Result<(string | number)[], Context>;
    /** apply-batch.lua: numKeys, then keys and arguments as the script documents. */
    applyBatch(args: Arg[]): Result<(string | number)[], Context>;
    /** merge-buckets.lua: target hash, source marker, expiry (unix s, 0 = none), then the source's fields. */
    mergeBuckets(target: string, marker: string, expireAt: number, ...fieldsAndValues: string[]): Result<number, Context>;
    /** remove-consumer.lua: stream, heartbeat key, group, consumer, mode. */
    removeConsumer(stream: string, heartbeat: string, group: string, consumer: string, mode: string): Result<number, Context>;
    /** replay-entry.lua: stream, replay marker, marker TTL, then the entry's fields. */
    replayEntry(stream: string, marker: string, ttlSeconds: number, ...fields: string[]): Result<string | null, Context>;
  }
}

const SCRIPTS = {
  appendSamples: { file: 'append-samples', numberOfKeys: undefined },
  applyBatch: { file: 'apply-batch', numberOfKeys: undefined },
  mergeBuckets: { file: 'merge-buckets', numberOfKeys: 2 },
  removeConsumer: { file: 'remove-consumer', numberOfKeys: 2 },
  replayEntry: { file: 'replay-entry', numberOfKeys: 2 },
} as const;

const sources = new Map<string, string>();

function source(file: string): string {
  let lua = sources.get(file);
  if (lua === undefined) {
    lua = readFileSync(join(__dirname, 'lua', `${file}.lua`), 'utf8');
    sources.set(file, lua);
  }
  return lua;
}

/** Defines every script's command on the client (once; EVALSHA with EVAL on NOSCRIPT). */
export function registerScripts(redis: Redis): void {
  for (const [name, { file, numberOfKeys }] of Object.entries(SCRIPTS)) {
    if (name in redis) continue;
    redis.defineCommand(name, numberOfKeys === undefined ? { lua: source(file) } : { lua: source(file), numberOfKeys });
  }
}

/** The source of one script, for tests that run it directly. */
export function scriptSource(name: keyof typeof SCRIPTS): string {
  return source(SCRIPTS[name].file);
}

/**
 * Every Lua script of the store, registered once per client with its type. A script is
 * `lua/<file>.lua`; the table below names its ioredis command and how many keys it takes
 * ('encoded': its caller encodes the keys and arguments itself, see below).
 * Callers get typed commands on the client (ioredis module augmentation), never a cast.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
// The client types straight from ioredis: shared/redis.ts registers the scripts on every client it makes.
import type { Cluster, Redis, Result } from 'ioredis';
import { luaBucketCodec } from './bucket-codec';
import { luaNodeSummaryCodec } from './summary-codec';
import { EncodedScript } from './encoded-script';

// RedisCommander is the command interface of both Redis and Cluster: one augmentation types both.
declare module 'ioredis' {
  interface RedisCommander<Context> {
    /** merge-buckets.lua: target hash, source marker, expiry (unix s, 0 = none), then the source's fields and stored buckets. */
    mergeBuckets(target: string, marker: string, expireAt: number, ...fieldsAndValues: (string | Buffer)[]): Result<number, Context>;
    /** remove-consumer.lua: stream, heartbeat key, group, consumer, mode. */
    removeConsumer(stream: string, heartbeat: string, group: string, consumer: string, mode: string): Result<number, Context>;
    /** acknowledge-dead-letter.lua: stream, meta hash, dead-letter marker, group, entry id, now (ms); a numeric code. */
    acknowledgeDeadLetter(stream: string, meta: string, marker: string, group: string, id: string, nowMs: number): Result<number, Context>;
    /** replay-entry.lua: stream, replay marker, dead-letter marker, replay marker TTL, group, entry id, '1'/'0' (marker required), then the entry's fields; a code and the new id. */
    replayEntry(
      stream: string,
      replayMarker: string,
      deadLetterMarker: string,
      ttlSeconds: number,
      group: string,
      id: string,
      markerRequired: '1' | '0',
      ...fields: string[]
    ): Result<[code: number, id?: string], Context>;
  }
}

/**
 * `codecs`: the Lua sides of the codecs whose stored values the script merges, prepended.
 * `numberOfKeys: 'encoded'`: not defined on the clients; its caller encodes the arguments
 * itself (encodedScript, encoded-script.ts).
 */
const SCRIPTS = {
  acknowledgeDeadLetter: { file: 'acknowledge-dead-letter', numberOfKeys: 3, codecs: [] },
  appendSamples: { file: 'append-samples', numberOfKeys: 'encoded', codecs: [] },
  applyBatch: { file: 'apply-batch', numberOfKeys: 'encoded', codecs: [luaBucketCodec, luaNodeSummaryCodec] },
  mergeBuckets: { file: 'merge-buckets', numberOfKeys: 2, codecs: [luaBucketCodec] },
  removeConsumer: { file: 'remove-consumer', numberOfKeys: 2, codecs: [] },
  replayEntry: { file: 'replay-entry', numberOfKeys: 3, codecs: [] },
} as const satisfies Record<string, { file: string; numberOfKeys: number | 'encoded'; codecs: readonly (() => string)[] }>;

const sources = new Map<string, string>();

function source(file: string, codecs: readonly (() => string)[]): string {
  let lua = sources.get(file);
  if (lua === undefined) {
    lua = readFileSync(join(__dirname, 'lua', `${file}.lua`), 'utf8');
    if (codecs.length > 0) lua = withPrelude(lua, codecs.map((codec) => codec()).join('\n'));
    sources.set(file, lua);
  }
  return lua;
}

/** Inserts shared Lua after the script's "#!lua" flags line, which must stay first. */
function withPrelude(lua: string, prelude: string): string {
  if (!lua.startsWith('#!')) return `${prelude}\n${lua}`;
  const firstLineEnd = lua.indexOf('\n') + 1;
  return `${lua.slice(0, firstLineEnd)}${prelude}\n${lua.slice(firstLineEnd)}`;
}

/** Defines every script's command on the client (once; EVALSHA with EVAL on NOSCRIPT). */
export function registerScripts(redis: Redis | Cluster): void {
  for (const [name, { file, numberOfKeys, codecs }] of Object.entries(SCRIPTS)) {
    if (name in redis || numberOfKeys === 'encoded') continue;
    const lua = source(file, codecs);
    redis.defineCommand(name, { lua, numberOfKeys });
  }
}

/** The source of one script, for tests that run it directly. */
export function scriptSource(name: keyof typeof SCRIPTS): string {
  return source(SCRIPTS[name].file, SCRIPTS[name].codecs);
}

const encodedScripts = new Map<string, EncodedScript>();

/** A script whose caller encodes its arguments (one per process: it remembers the connections that loaded it). */
export function encodedScript(name: 'applyBatch' | 'appendSamples'): EncodedScript {
  let script = encodedScripts.get(name);
  if (script === undefined) encodedScripts.set(name, (script = new EncodedScript(scriptSource(name))));
  return script;
}

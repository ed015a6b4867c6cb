/**
 * Pipelines a Redis Cluster can run. A cluster pipeline must stay on one node, so commands
 * are grouped by their key's hash tag (every key of a partition shares one), one pipeline
 * per group, run in parallel; the replies come back in the commands' order. One Redis runs
 * them all in one pipeline, as before.
 */
import type { ChainableCommander } from 'ioredis';
import { isCluster, type RedisClient } from '../redis';

export type PipelineReply = [error: Error | null, value: unknown];

/** One command: `key` decides where it runs; `add` queues it on the pipeline given. */
export interface KeyedCommand {
  key: string;
  add(pipeline: ChainableCommander): void;
}

/** The part of a key Redis Cluster hashes: the first non-empty `{...}`, else the whole key. */
export function hashTagOf(key: string): string {
  const open = key.indexOf('{');
  const close = open < 0 ? -1 : key.indexOf('}', open + 1);
  return close > open + 1 ? key.slice(open + 1, close) : key;
}

async function execOne(redis: RedisClient, commands: readonly KeyedCommand[]): Promise<PipelineReply[]> {
  const pipeline = redis.pipeline();
  for (const command of commands) command.add(pipeline);
  const replies = await pipeline.exec().catch((error: Error) => commands.map((): PipelineReply => [error, null]));
  return replies ?? commands.map((): PipelineReply => [new Error('the pipeline was not run'), null]);
}

/** Runs `commands` (one reply per command, in order): one pipeline, or one per hash tag on a cluster. */
export async function execPerSlot(redis: RedisClient, commands: readonly KeyedCommand[]): Promise<PipelineReply[]> {
  if (commands.length === 0) return [];
  if (!isCluster(redis)) return execOne(redis, commands);
  const groups = new Map<string, number[]>();
  commands.forEach((command, i) => {
    const tag = hashTagOf(command.key);
    const list = groups.get(tag);
    if (list) list.push(i);
    else groups.set(tag, [i]);
  });
  const replies = new Array<PipelineReply>(commands.length);
  await Promise.all(
    [...groups.values()].map(async (indexes) => {
      const groupReplies = await execOne(
        redis,
        indexes.map((i) => commands[i]!),
      );
      indexes.forEach((at, i) => (replies[at] = groupReplies[i] ?? [new Error('no reply'), null]));
    }),
  );
  return replies;
}

/** The values of `commands`; the first failed command fails the whole call (nothing is silently skipped). */
export async function execPerSlotOrThrow(redis: RedisClient, commands: readonly KeyedCommand[]): Promise<unknown[]> {
  const replies = await execPerSlot(redis, commands);
  const failed = replies.find(([error]) => error !== null)?.[0];
  if (failed) throw failed;
  return replies.map(([, value]) => value);
}

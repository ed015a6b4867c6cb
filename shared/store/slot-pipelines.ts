/**
 * Pipelines a Redis Cluster can run. A cluster pipeline must stay in one slot, so commands
 * are grouped by their key's slot (every key of a partition shares its hash tag's), one
 * pipeline per group, run in parallel; the replies come back in the commands' order. One
 * Redis runs them all in one pipeline, as before.
 */
import type { ChainableCommander } from 'ioredis';
import { isCluster, type RedisClient } from '../redis';
import { slotOfKey } from './partition-tag';

export type PipelineReply = [error: Error | null, value: unknown];

/** One command: `key` decides where it runs; `add` queues it on the pipeline given. */
export interface KeyedCommand {
  key: string;
  add(pipeline: ChainableCommander): void;
}

async function execOne(redis: RedisClient, commands: readonly KeyedCommand[]): Promise<PipelineReply[]> {
  const pipeline = redis.pipeline();
  for (const command of commands) command.add(pipeline);
  const replies = await pipeline.exec().catch((error: Error) => commands.map((): PipelineReply => [error, null]));
  return replies ?? commands.map((): PipelineReply => [new Error('the pipeline was not run'), null]);
}

/** Runs `commands` (one reply per command, in order): one pipeline, or one per slot on a cluster. */
export async function execPerSlot(redis: RedisClient, commands: readonly KeyedCommand[]): Promise<PipelineReply[]> {
  if (commands.length === 0) return [];
  if (!isCluster(redis)) return execOne(redis, commands);
  const groups = new Map<number, number[]>();
  commands.forEach((command, i) => {
    const slot = slotOfKey(command.key);
    const list = groups.get(slot);
    if (list) list.push(i);
    else groups.set(slot, [i]);
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

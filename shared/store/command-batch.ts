/**
 * Sends prepared commands on one connection in one socket write and answers each reply, as
 * an ioredis pipeline does, without the pipeline's own bookkeeping (two promises and a
 * result slot per command, the whole result copied at the end): a group's append sends
 * eight or so commands for one entry per partition, many times a second.
 */
import type { Command, Redis } from 'ioredis';

export type Settled = [Error | null, unknown];

/** ioredis's hook for a pipeline's writes (Redis.sendCommand's second argument). */
interface PipelineWriter {
  isPipeline: true;
  destination: { redis: Redis };
  write(writable: Buffer | string): void;
}

export async function sendBatch(redis: Redis, commands: readonly Command[]): Promise<Settled[]> {
  const chunks: Buffer[] = [];
  const writer: PipelineWriter = {
    isPipeline: true,
    destination: { redis },
    write: (writable) => {
      chunks.push(typeof writable === 'string' ? Buffer.from(writable) : writable);
    },
  };
  // A command refused before writing (disconnected, no offline queue) is rejected at once and writes nothing.
  for (const command of commands) void redis.sendCommand(command, writer as never);
  if (chunks.length > 0) redis.stream.write(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks));
  return Promise.all(
    commands.map((command) =>
      command.promise.then(
        (value): Settled => [null, value],
        (error: Error): Settled => [error, undefined],
      ),
    ),
  );
}

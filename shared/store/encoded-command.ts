/**
 * A command whose arguments are encoded into the Redis protocol here, in one pass into one
 * buffer (encodeBulkStrings), for the apply transaction's wide writes (thousands of fields
 * and binary buckets): ioredis encodes a command holding Buffer arguments string by string
 * into an array of pieces, which cost the worker more than the rest of the apply
 * (docs/BENCHMARKS.md, "An apply without the script").
 */
import { Command } from 'ioredis';
import { encodeBulkStrings, type EncodedArg } from './encoded-script';

/** A command in the Redis protocol, to be sent as it is (see EncodedCommand). */
export function encodeCommand(name: string, args: readonly EncodedArg[]): Buffer {
  const head = Buffer.from(`*${args.length + 1}\r\n$${name.length}\r\n${name}\r\n`);
  return Buffer.concat([head, encodeBulkStrings(args)]);
}

export class EncodedCommand extends Command {
  private readonly encoded: Buffer;

  /**
   * Only on a connection to one Redis: ioredis sees no keys, so a cluster could not route it.
   * `args` may be the whole command encoded once by encodeCommand, for a command sent often.
   */
  constructor(name: string, args: readonly EncodedArg[] | Buffer) {
    super(name, []);
    this.encoded = Buffer.isBuffer(args) ? args : encodeCommand(name, args);
  }

  override toWritable(): Buffer {
    return this.encoded;
  }
}

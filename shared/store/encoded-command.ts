/**
 * A command whose arguments are encoded into the Redis protocol here, in one pass into one
 * buffer (encodeBulkStrings), for the apply transaction's wide writes (thousands of fields
 * and binary buckets): ioredis encodes a command holding Buffer arguments string by string
 * into an array of pieces, which cost the worker more than the rest of the apply
 * (docs/BENCHMARKS.md, "An apply without the script").
 */
import { Command } from 'ioredis';
import { encodeBulkStrings, type EncodedArg } from './encoded-script';

export class EncodedCommand extends Command {
  private readonly encoded: Buffer;

  /** Only on a connection to one Redis: ioredis sees no keys, so a cluster could not route it. */
  constructor(name: string, args: readonly EncodedArg[]) {
    super(name, []);
    const head = Buffer.from(`*${args.length + 1}\r\n$${name.length}\r\n${name}\r\n`);
    this.encoded = Buffer.concat([head, encodeBulkStrings(args)]);
  }

  override toWritable(): Buffer {
    return this.encoded;
  }
}

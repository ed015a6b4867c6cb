/**
 * A script call whose arguments this module encodes in the Redis protocol itself, in one
 * pass into one buffer. An apply carries up to MAX_SCRIPT_ARGS arguments, mostly short
 * names and 48- or 80-byte buckets; ioredis encodes a command holding a Buffer argument
 * string by string into an array of pieces, which was most of the worker's CPU. The call
 * behaves like a script ioredis defines: EVAL the first time on a connection, EVALSHA after,
 * and EVAL again after NOSCRIPT (a restarted or failed-over Redis); on a cluster it goes to
 * the slot of its keys and follows redirections like any command. The store's scripts with
 * many arguments per call (the apply, the group commit's append) go this way.
 */
import { createHash } from 'node:crypto';
import { Command, Pipeline, type Cluster, type Redis } from 'ioredis';

export type EncodedArg = string | number | Buffer;

const CR = 13;
const LF = 10;
const DOLLAR = 36;
const ZERO = 48;

/**
 * Up to this many bytes, an argument is copied byte by byte in JavaScript: a Buffer.write
 * or copy per argument crosses into C++, which cost more than the copy itself for the
 * short names and buckets an apply is made of (docs/BENCHMARKS.md, "The hot path's
 * JavaScript per batch sample").
 */
const SHORT = 96;

function decimalDigits(n: number): number {
  let digits = 1;
  for (let rest = n; rest >= 10; rest = Math.floor(rest / 10)) digits++;
  return digits;
}

/** The UTF-8 size of a string: its length when it is short and ASCII (checked here), else Buffer's count. */
function utf8Size(value: string): number {
  if (value.length > SHORT) return Buffer.byteLength(value);
  for (let j = 0; j < value.length; j++) if (value.charCodeAt(j) > 0x7f) return Buffer.byteLength(value);
  return value.length;
}

/** Writes a size (a non-negative integer) in decimal at `at`; answers the position after it. */
function writeSize(out: Buffer, at: number, size: number): number {
  if (size < 10) {
    out[at] = ZERO + size;
    return at + 1;
  }
  if (size < 100) {
    out[at] = ZERO + ((size / 10) | 0);
    out[at + 1] = ZERO + (size % 10);
    return at + 2;
  }
  const digits = String(size);
  for (let j = 0; j < digits.length; j++) out[at + j] = digits.charCodeAt(j);
  return at + digits.length;
}

/** Arguments as Redis protocol bulk strings (`$<length>\r\n<bytes>\r\n` each). */
export function encodeBulkStrings(args: readonly EncodedArg[]): Buffer {
  const values: (string | Buffer)[] = new Array<string | Buffer>(args.length);
  const sizes: number[] = new Array<number>(args.length);
  let total = 0;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const value = typeof arg === 'number' ? String(arg) : arg;
    const size = typeof value === 'string' ? utf8Size(value) : value.length;
    values[i] = value;
    sizes[i] = size;
    total += 5 + decimalDigits(size) + size;
  }
  const out = Buffer.allocUnsafe(total);
  let at = 0;
  for (let i = 0; i < values.length; i++) {
    const value = values[i]!;
    const size = sizes[i]!;
    out[at++] = DOLLAR;
    at = writeSize(out, at, size);
    out[at++] = CR;
    out[at++] = LF;
    if (size > SHORT) {
      if (typeof value !== 'string') value.copy(out, at);
      // A string as long in bytes as in characters is ASCII: latin1 writes it the same, faster.
      else out.write(value, at, size, size === value.length ? 'latin1' : 'utf8');
    } else if (typeof value !== 'string') {
      for (let j = 0; j < size; j++) out[at + j] = value[j]!;
    } else if (size === value.length) {
      for (let j = 0; j < size; j++) out[at + j] = value.charCodeAt(j);
    } else out.write(value, at, size, 'utf8');
    at += size;
    out[at++] = CR;
    out[at++] = LF;
  }
  return out;
}

/** The command up to its encoded arguments: name, source or SHA, the key count and the keys. */
function header(name: string, first: string, keys: readonly string[], count: number): Buffer {
  const head = `*${2 + 1 + keys.length + count}\r\n$${name.length}\r\n${name}\r\n$${Buffer.byteLength(first)}\r\n${first}\r\n`;
  return Buffer.concat([Buffer.from(head), encodeBulkStrings([keys.length, ...keys])]);
}

/** Redis did not have the script (it ran nothing): the call may be sent again. */
const isNoScript = (error: unknown): boolean => error instanceof Error && error.message.includes('NOSCRIPT');

export class EncodedScript {
  readonly sha: string;
  /** Connections (sockets) that have run the script once: they know its SHA. */
  private readonly loadedOn = new WeakSet<object>();

  constructor(private readonly lua: string) {
    this.sha = createHash('sha1').update(lua).digest('hex');
  }

  /** Runs the script: `keys`, then the arguments `encoded` holds (encodeBulkStrings; `count` of them). */
  async call(client: Redis | Cluster, keys: readonly string[], encoded: Buffer, count: number): Promise<unknown> {
    const send = () => client.sendCommand(this.command(keys, encoded, count));
    try {
      return await send();
    } catch (error) {
      // The connection had the script, but Redis lost it: sent again, as EVAL.
      if (!isNoScript(error)) throw error;
      return send();
    }
  }

  /**
   * Runs the script in a pipeline, followed by what `then` adds (e.g. WAIT on the same
   * connection), and answers every reply. After NOSCRIPT (nothing ran, so nothing after it
   * waited for anything) the whole pipeline goes again, the script as EVAL.
   */
  async callThen(
    client: Redis | Cluster,
    keys: readonly string[],
    encoded: Buffer,
    count: number,
    then: (pipeline: Pipeline) => void,
  ): Promise<[Error | null, unknown][]> {
    const send = async () => {
      const pipeline = new Pipeline(client);
      pipeline.sendCommand(this.command(keys, encoded, count));
      then(pipeline);
      return (await pipeline.exec()) ?? [];
    };
    const results = await send();
    return isNoScript(results[0]?.[0]) ? send() : results;
  }

  private command(keys: readonly string[], encoded: Buffer, count: number): Command {
    return new ScriptCommand(this, keys, encoded, count);
  }

  /** The command's name and first argument for a connection: EVAL with the source until it ran there once. */
  firstFor(socket: object): [name: string, first: string] {
    if (this.loadedOn.has(socket)) return ['evalsha', this.sha];
    this.loadedOn.add(socket);
    return ['eval', this.lua];
  }

  forget(socket: object): void {
    this.loadedOn.delete(socket);
  }
}

class ScriptCommand extends Command {
  constructor(
    private readonly script: EncodedScript,
    private readonly scriptKeys: readonly string[],
    private readonly encoded: Buffer,
    private readonly count: number,
  ) {
    // Replies as text, as for the scripts ioredis defines. No arguments given here: ioredis's
    // constructor copies them with Array.prototype.flat, which V8 runs generically, about 1,000
    // instructions per argument (docs/BENCHMARKS.md).
    super('evalsha', [], { replyEncoding: 'utf8' });
    // What ioredis reads of the arguments, once it needs them: the keys, for a cluster's routing.
    this.args = [script.sha, scriptKeys.length, ...scriptKeys];
  }

  override toWritable(socket: object): Buffer {
    const reject = this.reject;
    this.reject = (error: Error) => {
      if (isNoScript(error)) this.script.forget(socket);
      reject.call(this, error);
    };
    const [name, first] = this.script.firstFor(socket);
    // The arguments are copied once, into the buffer written to the socket.
    return Buffer.concat([header(name, first, this.scriptKeys, this.count), this.encoded]);
  }
}

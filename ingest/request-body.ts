/**
 * Reads a request body a route declared with acceptsBody(): gunzips, enforces the size
 * limit on the decoded bytes and a time limit on its arrival, checks its shape in one
 * linear scan (json-shape.ts), and parses JSON or NDJSON. Every failure is a 4xx AppError.
 */
import type { Context } from 'koa';
import { createGunzip } from 'node:zlib';
import type { IncomingMessage } from 'node:http';
import type { Readable, Transform } from 'node:stream';
import { BadRequestError, PayloadTooLargeError, RequestTimeoutError, UnsupportedMediaTypeError } from '../shared/errors';
import { bodyTypeOf, NDJSON_TYPE } from './body-types';
import { checkJsonShape } from './json-shape';

export interface BodyLimits {
  maxBytes: number;
  /** The whole body must arrive within this time (408 otherwise). */
  timeoutMs: number;
}

async function readText(ctx: Context, limits: BodyLimits): Promise<string> {
  return (await readBytes(ctx, limits)).toString('utf8');
}

/** Why a body read stopped short, for the answer. */
class BodyTooLarge extends Error {}
class BodyAborted extends Error {}

/**
 * Collects a stream's bytes within the size and time limits: one promise, one timer and three
 * listeners per request, and a single chunk (the usual small POST) is returned without a copy.
 */
function collect(source: Readable, limits: BodyLimits): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let received = 0;
    const finish = (error: Error | undefined) => {
      clearTimeout(timer);
      source.off('data', onData);
      source.off('end', onEnd);
      source.off('error', onError);
      source.off('aborted', onAborted);
      if (error) reject(error);
      else resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, received));
    };
    const onData = (chunk: Buffer) => {
      received += chunk.length;
      if (received > limits.maxBytes) finish(new BodyTooLarge());
      else chunks.push(chunk);
    };
    const onEnd = () => finish(undefined);
    const onError = (error: Error) => finish(error);
    const onAborted = () => finish(new BodyAborted());
    const timer = setTimeout(() => finish(new RequestTimeoutError(limits.timeoutMs)), limits.timeoutMs);
    source.on('data', onData);
    source.on('end', onEnd);
    source.on('error', onError);
    source.on('aborted', onAborted);
  });
}

/**
 * The body, when it is already whole in the request's buffer and nothing has read from it yet:
 * the usual small POST arrives with its headers, and Node's parser has buffered all of it (its
 * Content-Length, or the whole message) by the time the route reads. Taken in one read,
 * without listeners, a timer or a wait.
 */
function alreadyArrived(req: IncomingMessage, limits: BodyLimits): Buffer | undefined {
  if (req.readableFlowing !== null || req.readableDidRead) return undefined;
  const declared = req.headers['content-length'];
  const whole = req.complete || (declared !== undefined && declared !== '' && req.readableLength === Number(declared));
  if (!whole) return undefined;
  if (req.readableLength > limits.maxBytes) throw new BodyTooLarge();
  return (req.read() as Buffer | null) ?? NO_BYTES;
}

const NO_BYTES = Buffer.alloc(0);

/** The raw body (a route that declared acceptsBody()), gunzipped when so encoded, within the limits. */
export async function readBytes(ctx: Context, limits: BodyLimits): Promise<Buffer> {
  const encoding = (ctx.req.headers['content-encoding'] || 'identity').trim().toLowerCase();
  let source: Readable = ctx.req;
  let gunzip: Transform | undefined;
  if (encoding === 'gzip' || encoding === 'x-gzip') {
    const decoder = createGunzip();
    ctx.req.on('error', (error) => decoder.destroy(error));
    source = gunzip = ctx.req.pipe(decoder);
  } else if (encoding !== 'identity') {
    throw new UnsupportedMediaTypeError(`Content-Encoding ${encoding.slice(0, 40)} is not supported; send gzip or no encoding.`);
  }
  try {
    if (!gunzip) {
      const whole = alreadyArrived(ctx.req, limits);
      if (whole) return whole;
    }
    // The 408 answer closes the connection, which also ends the abandoned read.
    return await collect(source, limits);
  } catch (error) {
    // Whatever stopped the read, the rest of the body is never read: discard what still
    // arrives and close the connection after answering, or the next request on it would
    // wait behind the unread bytes.
    if (gunzip) {
      ctx.req.unpipe(gunzip);
      gunzip.destroy();
    }
    ctx.req.resume();
    ctx.set('Connection', 'close');
    if (error instanceof RequestTimeoutError) throw error;
    if (error instanceof BodyTooLarge) {
      throw new PayloadTooLargeError(`The request body is larger than ${limits.maxBytes} bytes (after decompression).`);
    }
    if ((error as { code?: string }).code?.startsWith('Z_')) {
      throw new BadRequestError('INVALID_GZIP', 'The body is not valid gzip data.');
    }
    throw new BadRequestError('BODY_READ_FAILED', 'The request body could not be read.');
  }
}

function parseJson(text: string, where: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new BadRequestError('INVALID_JSON', `${where} is not valid JSON: ${(error as Error).message.slice(0, 200)}`);
  }
}

/** A JSON document (the single-sample routes), or undefined for an empty body when allowed. */
export async function readJsonBody(ctx: Context, limits: BodyLimits, options: { optional?: boolean } = {}): Promise<unknown> {
  bodyTypeOf(ctx);
  const text = await readText(ctx, limits);
  if (text.trim() === '') {
    if (options.optional) return undefined;
    throw new BadRequestError('EMPTY_BODY', 'The request body is empty; send a JSON object.');
  }
  checkJsonShape(text);
  return parseJson(text, 'The body');
}

/** A list of at most `maxItems` items: a JSON array, or NDJSON with one item per line. */
export async function readItems(ctx: Context, limits: BodyLimits & { maxItems: number }): Promise<unknown[]> {
  const ndjson = bodyTypeOf(ctx) === NDJSON_TYPE;
  const text = await readText(ctx, limits);
  const tooMany = () => new PayloadTooLargeError(`A batch holds at most ${limits.maxItems} samples; this one has more. Split it.`);
  if (!ndjson) {
    checkJsonShape(text, { maxItems: limits.maxItems });
    const body = parseJson(text, 'The body');
    if (!Array.isArray(body)) throw new BadRequestError('INVALID_BODY', 'The body must be a JSON array of samples (or NDJSON).');
    return body;
  }
  const items: unknown[] = [];
  let start = 0;
  for (let lineNumber = 1; start <= text.length; lineNumber++) {
    let end = text.indexOf('\n', start);
    if (end === -1) end = text.length;
    const line = text.slice(start, end).trim();
    start = end + 1;
    if (line === '') continue;
    if (items.length === limits.maxItems) throw tooMany();
    checkJsonShape(line, { index: items.length });
    items.push(parseJson(line, `NDJSON line ${lineNumber}`));
  }
  return items;
}

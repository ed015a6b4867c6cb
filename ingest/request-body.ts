/**
 * Reads a request body: checks its media type and encoding, gunzips, enforces the size
 * limit on the decoded bytes, and parses JSON or NDJSON. Every failure is a 4xx AppError.
 */
import type { Context } from 'koa';
import getRawBody from 'raw-body';
import { createGunzip } from 'node:zlib';
import type { Readable } from 'node:stream';
import { BadRequestError, PayloadTooLargeError, UnsupportedMediaTypeError } from '../shared/errors';

export type BodyFormat = 'json' | 'ndjson';

export function mediaType(ctx: Context): string | undefined {
  const header = ctx.get('Content-Type');
  return header ? header.split(';')[0]!.trim().toLowerCase() : undefined;
}

/** Which format the body is in; a missing Content-Type is taken as JSON (old clients). */
export function bodyFormat(ctx: Context, allowNdjson: boolean): BodyFormat {
  const type = mediaType(ctx);
  if (type === undefined || type === 'application/json' || type.endsWith('+json')) return 'json';
  if (allowNdjson && (type === 'application/x-ndjson' || type === 'application/ndjson')) return 'ndjson';
  const accepted = allowNdjson ? 'application/json or application/x-ndjson' : 'application/json';
  throw new UnsupportedMediaTypeError(`Content-Type ${type} is not supported; send ${accepted}.`);
}

/** The media type of the request, which must be one of the route's; 415 otherwise (also when missing). */
export function requireMediaType<T extends string>(ctx: Context, accepted: readonly T[]): T {
  const type = mediaType(ctx);
  if (type !== undefined && (accepted as readonly string[]).includes(type)) return type as T;
  throw new UnsupportedMediaTypeError(`Content-Type ${type ?? '(none)'} is not supported here; send ${accepted.join(' or ')}.`);
}

async function readText(ctx: Context, limit: number): Promise<string> {
  return (await readBytes(ctx, limit)).toString('utf8');
}

/** The raw body, gunzipped when so encoded, at most `limit` bytes after decompression. */
export async function readBytes(ctx: Context, limit: number): Promise<Buffer> {
  const encoding = (ctx.get('Content-Encoding') || 'identity').trim().toLowerCase();
  let source: Readable = ctx.req;
  if (encoding === 'gzip' || encoding === 'x-gzip') {
    const gunzip = createGunzip();
    ctx.req.on('error', (error) => gunzip.destroy(error));
    source = ctx.req.pipe(gunzip);
  } else if (encoding !== 'identity') {
    throw new UnsupportedMediaTypeError(`Content-Encoding ${encoding} is not supported; send gzip or no encoding.`);
  }
  try {
    return await getRawBody(source, { limit });
  } catch (error) {
    const type = (error as { type?: string }).type;
    if (type === 'entity.too.large') {
      // The rest of the body is not read: close the connection after answering.
      if (source !== ctx.req) source.destroy();
      ctx.set('Connection', 'close');
      throw new PayloadTooLargeError(`The request body is larger than ${limit} bytes (after decompression).`);
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
    throw new BadRequestError('INVALID_JSON', `${where} is not valid JSON: ${(error as Error).message}`);
  }
}

/** A JSON document (the single-sample routes). */
export async function readJsonBody(ctx: Context, limit: number): Promise<unknown> {
  bodyFormat(ctx, false);
  const text = await readText(ctx, limit);
  if (text.trim() === '') throw new BadRequestError('EMPTY_BODY', 'The request body is empty; send a JSON object.');
  return parseJson(text, 'The body');
}

/** A list of items: a JSON array, or NDJSON with one item per line. */
export async function readItems(ctx: Context, limit: number): Promise<unknown[]> {
  const format = bodyFormat(ctx, true);
  const text = await readText(ctx, limit);
  if (format === 'json') {
    const body = parseJson(text, 'The body');
    if (!Array.isArray(body)) throw new BadRequestError('INVALID_BODY', 'The body must be a JSON array of samples (or NDJSON).');
    return body;
  }
  const items: unknown[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line !== '') items.push(parseJson(line, `NDJSON line ${i + 1}`));
  }
  return items;
}

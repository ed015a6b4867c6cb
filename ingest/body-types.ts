/**
 * Route middleware that says which bodies a route takes, checked from the headers alone
 * before a byte of the body is read: the media type (415 otherwise, including no
 * Content-Type and the types a cross-site form may send without a preflight), a UTF-8
 * charset if one is declared, and a Content-Length within the size limit (413).
 * Each route lists its own types, so routes taking other formats declare them the same way.
 */
import { parse as parseContentType } from 'content-type';
import type { Context, Middleware } from 'koa';
import { PayloadTooLargeError, UnsupportedMediaTypeError } from '../shared/errors';

export const JSON_TYPE = 'application/json';
export const NDJSON_TYPE = 'application/x-ndjson';

export interface BodyRules {
  /** Media types this route takes, lower case. */
  types: readonly string[];
  /** Largest body in bytes (after decompression; a larger Content-Length is refused at once). */
  maxBytes: number;
}

const STATE_KEY = 'bodyType';
const UTF8 = /^utf-?8$/i;

/** Clients send the same few Content-Type values over and over: each is parsed once. */
const MAX_REMEMBERED_TYPES = 64;
const parsedTypes = new Map<string, { type: string; charset: string | undefined }>();

function parseType(header: string, accepted: string): { type: string; charset: string | undefined } {
  const remembered = parsedTypes.get(header);
  if (remembered !== undefined) return remembered;
  let parsed: { type: string; charset: string | undefined };
  try {
    const { type, parameters } = parseContentType(header);
    parsed = { type, charset: parameters.charset };
  } catch {
    throw new UnsupportedMediaTypeError(`Content-Type "${header.slice(0, 100)}" is malformed; send ${accepted}.`);
  }
  if (parsedTypes.size === MAX_REMEMBERED_TYPES) parsedTypes.clear();
  parsedTypes.set(header, parsed);
  return parsed;
}

/** The checks of acceptsBody() as a function that throws, for a route that runs them in its own frame (write-route.ts). */
export function bodyCheck(rules: BodyRules): (ctx: Context) => void {
  const accepted = rules.types.join(' or ');
  return (ctx) => {
    const headers = ctx.req.headers;
    const header = headers['content-type'];
    if (header === undefined || header === '') throw new UnsupportedMediaTypeError(`A Content-Type header is required; send ${accepted}.`);
    const { type, charset } = parseType(header, accepted);
    if (!rules.types.includes(type)) throw new UnsupportedMediaTypeError(`Content-Type ${type} is not supported here; send ${accepted}.`);
    if (charset !== undefined && !UTF8.test(charset)) {
      throw new UnsupportedMediaTypeError(`charset=${charset.slice(0, 40)} is not supported; bodies are UTF-8.`);
    }
    const length = headers['content-length'];
    if (length !== undefined && length !== '' && Number(length) > rules.maxBytes) {
      ctx.set('Connection', 'close'); // the body is never read
      throw new PayloadTooLargeError(`Content-Length ${length.slice(0, 30)} is larger than the limit of ${rules.maxBytes} bytes.`);
    }
    ctx.state[STATE_KEY] = type;
  };
}

export function acceptsBody(rules: BodyRules): Middleware {
  const check = bodyCheck(rules);
  // Not async: the checks are synchronous, and koa-compose turns a throw into a rejection.
  return (ctx, next) => {
    check(ctx);
    return next();
  };
}

/** The media type acceptsBody() let through for this request. */
export function bodyTypeOf(ctx: Context): string {
  const type = ctx.state[STATE_KEY] as string | undefined;
  if (type === undefined) throw new Error('route reads a body without declaring acceptsBody()');
  return type;
}

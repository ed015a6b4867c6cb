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

export function acceptsBody(rules: BodyRules): Middleware {
  const accepted = rules.types.join(' or ');
  return async (ctx, next) => {
    const header = ctx.get('Content-Type');
    if (header === '') throw new UnsupportedMediaTypeError(`A Content-Type header is required; send ${accepted}.`);
    let type: string;
    let charset: string | undefined;
    try {
      const parsed = parseContentType(header);
      type = parsed.type;
      charset = parsed.parameters.charset;
    } catch {
      throw new UnsupportedMediaTypeError(`Content-Type "${header.slice(0, 100)}" is malformed; send ${accepted}.`);
    }
    if (!rules.types.includes(type)) throw new UnsupportedMediaTypeError(`Content-Type ${type} is not supported here; send ${accepted}.`);
    if (charset !== undefined && !/^utf-?8$/i.test(charset)) {
      throw new UnsupportedMediaTypeError(`charset=${charset.slice(0, 40)} is not supported; bodies are UTF-8.`);
    }
    const length = ctx.get('Content-Length');
    if (length !== '' && Number(length) > rules.maxBytes) {
      ctx.set('Connection', 'close'); // the body is never read
      throw new PayloadTooLargeError(`Content-Length ${length.slice(0, 30)} is larger than the limit of ${rules.maxBytes} bytes.`);
    }
    ctx.state[STATE_KEY] = type;
    await next();
  };
}

/** The media type acceptsBody() let through for this request. */
export function bodyTypeOf(ctx: Context): string {
  const type = ctx.state[STATE_KEY] as string | undefined;
  if (type === undefined) throw new Error('route reads a body without declaring acceptsBody()');
  return type;
}

/** Decides one request's access: its bearer token against the scope a route needs. */
import { AppError, ForbiddenError, UnauthenticatedError } from '../errors';
import type { Scope } from './scopes';
import type { TokenEntry } from './token-file';
import { TokenStore } from './token-store';

export type RejectReason = 'missing' | 'unknown' | 'scope';

export type Access =
  /** `token` is undefined only when the service runs open (no tokens configured). */
  { ok: true; token: TokenEntry | undefined } | { ok: false; reason: RejectReason; error: AppError };

const BEARER = /^Bearer[ ]+([^\s]+)\s*$/i;

/** The token of an `Authorization: Bearer <token>` header; undefined for any other form. */
export function bearerOf(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const match = BEARER.exec(header);
  return match?.[1];
}

export function authorize(store: TokenStore, authorization: string | undefined, scope: Scope): Access {
  if (store.open) return { ok: true, token: undefined };
  const bearer = bearerOf(authorization);
  if (bearer === undefined) {
    return {
      ok: false,
      reason: 'missing',
      error: new UnauthenticatedError(`This route needs a token with the "${scope}" scope: send "Authorization: Bearer <token>".`),
    };
  }
  const token = store.verify(bearer);
  if (token === undefined) {
    return {
      ok: false,
      reason: 'unknown',
      error: new UnauthenticatedError(
        'The bearer token is not known (revoked, mistyped, or for another deployment).',
        'Bearer error="invalid_token"',
      ),
    };
  }
  if (!TokenStore.allows(token, scope)) {
    return {
      ok: false,
      reason: 'scope',
      error: new ForbiddenError(`The token "${token.name}" lacks the "${scope}" scope this route needs.`, scope),
    };
  }
  return { ok: true, token };
}

/**
 * OTLP/HTTP error answers: a google.rpc.Status in the request's format. In JSON the Status
 * also carries the project's "error" object, so both kinds of client can read it.
 */
import type { Context } from 'koa';
import type { ErrorBody, ErrorBodyRenderer } from '../error-middleware';
import { encodeStatus, type OtlpFormat } from './otlp-protocol';

/** google.rpc.Code for an HTTP status, as gRPC maps them. */
export function grpcCodeOf(status: number): number {
  switch (status) {
    case 400:
    case 413:
    case 415:
    case 422:
      return 3; // INVALID_ARGUMENT
    case 401:
      return 16; // UNAUTHENTICATED
    case 403:
      return 7; // PERMISSION_DENIED
    case 404:
      return 5; // NOT_FOUND
    case 408:
    case 504:
      return 4; // DEADLINE_EXCEEDED
    case 429:
      return 8; // RESOURCE_EXHAUSTED
    case 503:
      return 14; // UNAVAILABLE
    default:
      return status >= 500 ? 13 : 2; // INTERNAL, UNKNOWN
  }
}

export function otlpErrorBody(format: OtlpFormat): ErrorBodyRenderer {
  return (ctx: Context, status: number, body: ErrorBody) => {
    const code = grpcCodeOf(status);
    if (format === 'json') return { code, message: body.error.message, ...body };
    ctx.type = 'application/x-protobuf';
    return encodeStatus(code, `${body.error.code}: ${body.error.message}`);
  };
}

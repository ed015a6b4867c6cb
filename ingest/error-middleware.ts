/**
 * Renders every error as {"error": {code, message, details}}; unknown errors are 500s. A route
 * whose protocol prescribes another error body (OTLP) sets `ctx.state.errorBody`.
 */
import type { Context, Middleware } from 'koa';
import { AppError, MethodNotAllowedError } from '../shared/errors';
import type { Logger } from '../shared/logger';
import { ThrottledWarnings } from '../shared/throttled-warnings';

export function errorMiddleware(logger: Logger): Middleware {
  // A 503 repeats for every request while Redis is away or full: one line per code per interval.
  const unavailable = new ThrottledWarnings(logger);
  return async (ctx, next) => {
    try {
      await next();
      if (ctx.body === undefined || ctx.body === null) {
        if (ctx.status === 404) throw new AppError(404, 'NOT_FOUND', `No route for ${ctx.method} ${ctx.path}. See the API in README.md.`);
        if (ctx.status === 405) throw new MethodNotAllowedError(ctx.method, ctx.response.get('Allow').split(/,\s*/));
      }
    } catch (caught) {
      const error = toAppError(caught);
      if (error.status === 503) unavailable.warn(error.code, { err: error.message, code: error.code, path: ctx.path }, 'request refused');
      else if (error.status >= 500) logger.error({ err: caught, path: ctx.path }, 'request failed');
      ctx.status = error.status;
      ctx.set(error.headers);
      const body: ErrorBody = {
        error: {
          code: error.code,
          message: error.expose ? error.message : 'Internal error; the service log has the details.',
          ...(error.details ? { details: error.details } : {}),
        },
      };
      const render = (ctx.state as { errorBody?: ErrorBodyRenderer }).errorBody;
      ctx.body = render ? render(ctx, error.status, body) : body;
    }
  };
}

export interface ErrorBody {
  error: { code: string; message: string; details?: AppError['details'] };
}

/** Turns the project's error body into a protocol's own (and sets its Content-Type). */
export type ErrorBodyRenderer = (ctx: Context, status: number, body: ErrorBody) => unknown;

function toAppError(caught: unknown): AppError {
  if (caught instanceof AppError) return caught;
  // Errors raised by koa/router themselves (http-errors) carry a status and expose flag.
  const e = caught as { status?: number; expose?: boolean; message?: string };
  if (typeof e?.status === 'number' && e.status >= 400 && e.status < 500) {
    return new AppError(e.status, e.status === 405 ? 'METHOD_NOT_ALLOWED' : 'BAD_REQUEST', e.message ?? 'Bad request');
  }
  return new AppError(500, 'INTERNAL_ERROR', e?.message ?? 'Internal error', undefined, { cause: caught, expose: false });
}

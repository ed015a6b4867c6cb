/**
 * Renders every error as {"error": {code, message, details}}; unknown errors are 500s.
 * An error answer stays small whatever the client sent: at most MAX_DETAILS details
 * (then "details_total"), and every text is cut to a bounded length. A route whose protocol
 * prescribes another error body (OTLP) sets `ctx.state.errorBody`.
 */
import type { Context, Middleware } from 'koa';
import { AppError, MethodNotAllowedError, type ErrorDetail } from '../shared/errors';
import type { Logger } from '../shared/logger';
import { ThrottledWarnings } from '../shared/throttled-warnings';

export const MAX_DETAILS = 100;
const MAX_MESSAGE_CHARS = 1000;
const MAX_DETAIL_CHARS = 200;

export function errorMiddleware(logger: Logger): Middleware {
  const unavailable = new ThrottledWarnings(logger);
  return async (ctx, next) => {
    try {
      await next();
      // ctx.response's own getters: ctx's delegating ones cost more per request (answer.ts).
      const { body } = ctx.response;
      if (body === undefined || body === null) {
        if (ctx.status === 404) {
          throw new AppError(404, 'NOT_FOUND', `No route for ${ctx.method} ${cut(ctx.path, MAX_DETAIL_CHARS)}. See the API in README.md.`);
        }
        if (ctx.status === 405) throw new MethodNotAllowedError(ctx.method, ctx.response.get('Allow').split(/,\s*/));
      }
    } catch (caught) {
      const error = toAppError(caught);
      logError(logger, unavailable, error, caught, ctx.method, ctx.path);
      ctx.status = error.status;
      ctx.set(error.headers);
      const body: ErrorBody = { error: render(error) };
      const custom = (ctx.state as { errorBody?: ErrorBodyRenderer }).errorBody;
      ctx.body = custom ? custom(ctx, error.status, body) : body;
    }
  };
}

export interface ErrorBody {
  error: { code: string; message: string; details?: ErrorDetail[]; details_total?: number };
}

/** Turns the project's error body into a protocol's own (and sets its Content-Type). */
export type ErrorBodyRenderer = (ctx: Context, status: number, body: ErrorBody) => unknown;

/**
 * A client's mistake (4xx) or an expired wait (504) is routine: info, no stack. A 503
 * repeats for every request while Redis is away or full: one warning per code per interval.
 */
function logError(logger: Logger, unavailable: ThrottledWarnings, error: AppError, caught: unknown, method: string, path: string): void {
  const where = { method, path: cut(path, MAX_DETAIL_CHARS), status: error.status, code: error.code };
  if (error.status < 500 || error.status === 504) logger.info(where, 'request refused');
  else if (error.status === 503) {
    unavailable.warn(
      error.code,
      { ...where, reason: cut(String((error.cause as Error)?.message ?? error.message), 300) },
      'request refused',
    );
  } else logger.error({ ...where, err: caught }, 'request failed');
}

function render(error: AppError) {
  const shown = error.details?.slice(0, MAX_DETAILS).map(renderDetail);
  const total = error.detailsTotal ?? error.details?.length ?? 0;
  return {
    code: error.code,
    message: error.expose ? cut(error.message, MAX_MESSAGE_CHARS) : 'Internal error; the service log has the details.',
    ...(shown ? { details: shown } : {}),
    ...(shown && total > shown.length ? { details_total: total } : {}),
  };
}

function renderDetail(detail: ErrorDetail): ErrorDetail {
  return {
    ...(detail.index === undefined ? {} : { index: detail.index }),
    ...(detail.field === undefined ? {} : { field: cut(detail.field, MAX_DETAIL_CHARS) }),
    message: cut(detail.message, MAX_DETAIL_CHARS),
  };
}

function cut(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

function toAppError(caught: unknown): AppError {
  if (caught instanceof AppError) return caught;
  // Errors raised by koa/router themselves (http-errors) carry a status and expose flag.
  const e = caught as { status?: number; expose?: boolean; message?: string };
  if (typeof e?.status === 'number' && e.status >= 400 && e.status < 500) {
    return new AppError(e.status, e.status === 405 ? 'METHOD_NOT_ALLOWED' : 'BAD_REQUEST', e.message ?? 'Bad request');
  }
  return new AppError(500, 'INTERNAL_ERROR', e?.message ?? 'Internal error', undefined, { cause: caught, expose: false });
}

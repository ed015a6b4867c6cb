/** The HTTP client of every command: base URL, bearer token, and errors turned into one clear line. */
import { CliError, EXIT } from './cli-error';

export interface ApiResponse {
  status: number;
  headers: Headers;
  /** Parsed JSON, or the raw text when the body is not JSON. */
  body: unknown;
}

export interface RequestOptions {
  method?: string;
  body?: string | Uint8Array;
  contentType?: string;
  headers?: Record<string, string>;
  timeoutMs?: number;
}

interface ServiceErrorBody {
  error?: { code?: string; message?: string; details?: { index?: number; field?: string; message?: string }[] };
}

/** Long enough for a query with ?after= (the service waits up to CONSISTENCY_WAIT_MS, 5 s by default). */
export const DEFAULT_TIMEOUT_MS = 15_000;

export class ApiClient {
  readonly baseUrl: string;

  constructor(
    baseUrl: string,
    private readonly token?: string,
  ) {
    this.baseUrl = baseUrl.replace(/\/+$/, '');
  }

  headers(extra: Record<string, string> = {}): Record<string, string> {
    return { accept: 'application/json', ...(this.token ? { authorization: `Bearer ${this.token}` } : {}), ...extra };
  }

  /** Sends a request; any answer (2xx or not) resolves, only a transport failure throws. */
  async send(path: string, options: RequestOptions = {}): Promise<ApiResponse> {
    const url = `${this.baseUrl}${path}`;
    let response: Response;
    try {
      response = await fetch(url, {
        method: options.method ?? 'GET',
        headers: this.headers({ ...(options.contentType ? { 'content-type': options.contentType } : {}), ...options.headers }),
        body: options.body,
        signal: AbortSignal.timeout(options.timeoutMs ?? DEFAULT_TIMEOUT_MS),
      });
    } catch (caught) {
      throw unreachable(this.baseUrl, caught, options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    }
    const text = await response.text().catch(() => '');
    let body: unknown = text;
    try {
      body = text === '' ? undefined : JSON.parse(text);
    } catch {
      // not JSON (a proxy's error page, say): keep the text for the message
    }
    return { status: response.status, headers: response.headers, body };
  }

  /** Like send(), but an answer outside 2xx throws a CliError carrying the service's message. */
  async request<T>(path: string, options: RequestOptions = {}): Promise<T> {
    const response = await this.send(path, options);
    if (response.status >= 200 && response.status < 300) return response.body as T;
    throw serviceError(response);
  }

  postJson<T>(path: string, value: unknown, headers: Record<string, string> = {}): Promise<T> {
    return this.request<T>(path, { method: 'POST', body: JSON.stringify(value), contentType: 'application/json', headers });
  }
}

/** "the service answered 422 VALIDATION_FAILED: <message> (field: reason; ...)" */
export function serviceError(response: ApiResponse): CliError {
  const error = (response.body as ServiceErrorBody | undefined)?.error;
  if (!error || typeof error !== 'object') {
    const text = typeof response.body === 'string' ? response.body.trim().split('\n')[0]!.slice(0, 200) : '';
    return new CliError(
      `the service answered ${response.status}${text ? `: ${text}` : ' with no error message'}`,
      EXIT.serviceError,
      response.status,
    );
  }
  const details = (error.details ?? [])
    .slice(0, 3)
    .map((d) => [d.index !== undefined ? `item ${d.index}` : '', d.field ?? '', d.message ?? ''].filter(Boolean).join(': '))
    .join('; ');
  const more = (error.details?.length ?? 0) > 3 ? `; and ${(error.details?.length ?? 0) - 3} more` : '';
  const retry = response.headers.get('retry-after');
  const message =
    `the service answered ${response.status} ${error.code ?? ''}: ${error.message ?? ''}` +
    (details ? ` (${details}${more})` : '') +
    (retry ? ` [retry after ${retry} s]` : '');
  return new CliError(message.replace(/\s+:/, ':'), EXIT.serviceError, response.status, error.code);
}

/** Why a request never got an answer, in words, with what to do about it. */
export function unreachable(baseUrl: string, caught: unknown, timeoutMs: number): CliError {
  const error = caught as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (error?.name === 'TimeoutError' || error?.name === 'AbortError') {
    return new CliError(
      `the service at ${baseUrl} did not answer within ${timeoutMs / 1000} s; check that it is healthy (GET /readyz)`,
      EXIT.unreachable,
    );
  }
  const code = error?.cause?.code ?? '';
  const reason =
    code === 'ECONNREFUSED'
      ? 'connection refused'
      : code === 'ENOTFOUND' || code === 'EAI_AGAIN'
        ? 'unknown host'
        : code === 'ECONNRESET' || code === 'UND_ERR_SOCKET'
          ? 'connection reset'
          : code === 'UND_ERR_CONNECT_TIMEOUT' || code === 'ETIMEDOUT'
            ? 'connection timed out'
            : (error?.cause?.message ?? error?.message ?? 'unknown network error');
  return new CliError(
    `cannot reach the service at ${baseUrl} (${reason}); start it (npm start) or point --url / NODEAGG_URL at it`,
    EXIT.unreachable,
  );
}

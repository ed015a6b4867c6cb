// An HTTP client for fault tests: every request ends in one classified outcome, never a hang.
import { request, type Agent, type IncomingHttpHeaders } from 'node:http';

export type Outcome =
  | { kind: 'response'; status: number; headers: IncomingHttpHeaders; body: unknown }
  /** No answer within the timeout: the service hung. */
  | { kind: 'timeout' }
  /** Nothing listens any more (ECONNREFUSED). */
  | { kind: 'refused'; code: string }
  /** The connection closed or was reset before a complete answer. */
  | { kind: 'closed'; code: string };

export interface RequestOptions {
  method?: string;
  body?: unknown;
  timeoutMs?: number;
  /** `false`: a new connection per request (as a client does after a Connection: close). */
  agent?: Agent | false;
  /** A slow client: the body goes out in four parts spread over this time. */
  trickleMs?: number;
  headers?: Record<string, string>;
}

export function send(url: string, options: RequestOptions = {}): Promise<Outcome> {
  const timeoutMs = options.timeoutMs ?? 5000;
  const signal = AbortSignal.timeout(timeoutMs);
  const payload = options.body === undefined ? undefined : Buffer.from(JSON.stringify(options.body));
  return new Promise<Outcome>((resolve) => {
    let settled = false;
    const finish = (outcome: Outcome) => {
      if (settled) return;
      settled = true;
      resolve(outcome);
    };
    const onError = (error: NodeJS.ErrnoException) => {
      if (signal.aborted) return finish({ kind: 'timeout' });
      const code = error.code ?? error.message;
      finish(code === 'ECONNREFUSED' ? { kind: 'refused', code } : { kind: 'closed', code });
    };
    const req = request(
      url,
      {
        method: options.method ?? (payload ? 'POST' : 'GET'),
        agent: options.agent,
        signal,
        headers: {
          ...(payload ? { 'content-type': 'application/json', 'content-length': String(payload.length) } : {}),
          ...options.headers,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', onError);
        res.on('aborted', () => onError(Object.assign(new Error('response aborted'), { code: 'ECONNRESET' })));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let body: unknown = text;
          try {
            body = text === '' ? undefined : JSON.parse(text);
          } catch {
            // not JSON: keep the text
          }
          finish({ kind: 'response', status: res.statusCode ?? 0, headers: res.headers, body });
        });
      },
    );
    req.on('error', onError);
    if (!payload || !options.trickleMs) {
      req.end(payload);
      return;
    }
    const part = Math.ceil(payload.length / 4);
    const step = options.trickleMs / 4;
    for (let i = 0; i < 4; i++) {
      setTimeout(() => {
        if (req.destroyed) return;
        const chunk = payload.subarray(i * part, (i + 1) * part);
        if (i < 3) req.write(chunk);
        else req.end(chunk);
      }, i * step);
    }
  });
}

export function describeOutcome(outcome: Outcome): string {
  switch (outcome.kind) {
    case 'response':
      return `${outcome.status} ${JSON.stringify(outcome.body).slice(0, 200)}`;
    case 'timeout':
      return 'no answer (timeout)';
    default:
      return `${outcome.kind} (${outcome.code})`;
  }
}

/** GETs `url` until it answers `status`, or throws after `timeoutMs` with the last outcome. */
export async function waitForStatus(url: string, status: number, timeoutMs: number): Promise<number> {
  const started = Date.now();
  let last: Outcome | undefined;
  for (;;) {
    last = await send(url, { timeoutMs: 2000, agent: false });
    if (last.kind === 'response' && last.status === status) return Date.now() - started;
    if (Date.now() - started > timeoutMs) {
      throw new Error(`${url} did not answer ${status} within ${timeoutMs} ms; last: ${describeOutcome(last)}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

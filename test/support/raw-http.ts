/** HTTP over a plain socket, for what fetch will not send: lying Content-Lengths, bodies that trickle. */
import { connect } from 'node:net';

export interface RawAnswer {
  /** Everything the server sent. */
  text: string;
  status: number;
  /** The server closed the connection. */
  closed: boolean;
  /** Bytes of the body this side managed to send. */
  bodyBytesSent: number;
}

export interface RawRequest {
  /** Request line and headers, without the blank line that ends them. */
  head: string;
  /** Body bytes sent in the same write as the head (before any of `chunks`). */
  withHead?: string | Buffer;
  /** Body chunks, sent one every `intervalMs` (nothing when left out). */
  chunks?: (string | Buffer)[];
  intervalMs?: number;
  /** Give up (resolve with what arrived) after this long. */
  timeoutMs?: number;
}

export function rawRequest(baseUrl: string, req: RawRequest): Promise<RawAnswer> {
  const { hostname, port } = new URL(baseUrl);
  return new Promise((resolve) => {
    const socket = connect(Number(port), hostname);
    let text = '';
    let sent = 0;
    let trickle: NodeJS.Timeout | undefined;
    const finish = (closed: boolean) => {
      clearTimeout(timer);
      clearInterval(trickle);
      socket.destroy();
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0);
      resolve({ text, status, closed, bodyBytesSent: sent });
    };
    const timer = setTimeout(() => finish(false), req.timeoutMs ?? 10_000);
    socket.on('data', (data) => (text += data.toString('utf8')));
    socket.on('end', () => finish(true));
    socket.on('close', () => finish(true));
    socket.on('error', () => finish(true));
    socket.on('connect', () => {
      const head = Buffer.from(`${req.head}\r\n\r\n`);
      const withHead = req.withHead === undefined ? Buffer.alloc(0) : Buffer.from(req.withHead);
      socket.write(Buffer.concat([head, withHead]));
      sent += withHead.length;
      const chunks = [...(req.chunks ?? [])];
      trickle = setInterval(() => {
        const chunk = chunks.shift();
        if (chunk === undefined || socket.destroyed) return clearInterval(trickle);
        socket.write(chunk);
        sent += Buffer.byteLength(chunk);
      }, req.intervalMs ?? 10);
    });
  });
}

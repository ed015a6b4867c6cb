/**
 * Free ports for private servers, chosen below the kernel's ephemeral range: a test stops a
 * server and starts it again on the same port (a Redis restart), and a port inside that range
 * may meanwhile have become some outgoing connection's source port, failing the restart.
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

const LOWEST_PORT = 10_000;
const DEFAULT_EPHEMERAL_START = 32_768;

function ephemeralStart(): number {
  try {
    const [start] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/);
    const port = Number(start);
    return Number.isInteger(port) && port > 0 ? port : DEFAULT_EPHEMERAL_START;
  } catch {
    return DEFAULT_EPHEMERAL_START;
  }
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

function anyPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/**
 * A port free now, with `port + offset` free as well for every offset given (a cluster node's
 * bus listens on port + 10000). Falls back to a kernel-chosen port where the ephemeral range
 * leaves no room below it.
 */
export async function freePort(offsets: readonly number[] = []): Promise<number> {
  const highestOffset = Math.max(0, ...offsets);
  const room = ephemeralStart() - highestOffset - LOWEST_PORT;
  for (let attempt = 0; attempt < 1000; attempt++) {
    const port = room > 0 ? LOWEST_PORT + Math.floor(Math.random() * room) : await anyPort();
    if (port + highestOffset > 65_535) continue;
    if (!(await portIsFree(port))) continue;
    const others = await Promise.all(offsets.map((offset) => portIsFree(port + offset)));
    if (others.every(Boolean)) return port;
  }
  throw new Error('no free port found in 1000 attempts');
}

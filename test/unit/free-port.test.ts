import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { freePort } from '../../launcher/free-port';

function listen(port: number): Promise<() => Promise<void>> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(() => new Promise((done) => server.close(() => done()))));
  });
}

const ephemeralStart = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);

test('a free port and its bus port lie below the ephemeral range, and both can be listened on', async () => {
  for (let i = 0; i < 20; i++) {
    const port = await freePort([10_000]);
    expect(port).toBeGreaterThanOrEqual(10_000);
    expect(port + 10_000).toBeLessThan(ephemeralStart);
    const closers = [await listen(port), await listen(port + 10_000)];
    for (const close of closers) await close();
  }
});

test('a port another server holds is never handed out', async () => {
  const held: (() => Promise<void>)[] = [];
  const ports = new Set<number>();
  try {
    for (let i = 0; i < 50; i++) {
      const port = await freePort();
      expect(ports.has(port)).toBe(false);
      ports.add(port);
      held.push(await listen(port));
    }
  } finally {
    for (const close of held) await close();
  }
});

/** Serves a baseline app of baseline-apps.ts (`--routed`: the routed one) on PORT or a free port, which it prints. */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { bareApp, routedApp } from './baseline-apps';

const app = process.argv.includes('--routed') ? routedApp() : bareApp();
const server = createServer(app.callback());
server.keepAliveTimeout = 65_000;
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  process.stdout.write(`${(server.address() as AddressInfo).port}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));

/** The baseline server: a bare Koa JSON handler that reads and parses the body and answers 202, doing no I/O. */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import getRawBody from 'raw-body';

const app = new Koa();
app.use(async (ctx) => {
  if (ctx.method === 'POST') {
    const body = JSON.parse(await getRawBody(ctx.req, { limit: '5mb', encoding: 'utf8' })) as unknown;
    ctx.status = 202;
    ctx.body = { id: '0-0', token: '0_0-0', ok: typeof body === 'object' };
  } else {
    ctx.body = { timeslice: 60, cpu_used: 42.5, mem_used: 61 };
  }
});
const server = createServer(app.callback());
server.keepAliveTimeout = 65_000;
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  process.stdout.write(`${(server.address() as AddressInfo).port}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));

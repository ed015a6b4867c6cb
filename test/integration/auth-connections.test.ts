/**
 * A keep-alive connection proves its token once and its following requests reuse the proof
 * (ingest/auth/verified-connections.ts): on the same connection another header is checked
 * afresh, and a reloaded tokens file revokes a token even on a connection that proved it.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { createToken } from '../../cli/commands/token';
import type { RedisClient } from '../../shared/redis';
import { startIngest, type RunningIngest } from '../../ingest/server';
import { deletePrefix, testConfig, testRedis } from '../support/test-config';
import { waitUntil } from '../support/wait-until';

describe('token proof per keep-alive connection', () => {
  const writer = createToken('writer', ['write']);
  const reader = createToken('reader', ['read']);
  const dir = mkdtempSync(join(tmpdir(), 'tokens-'));
  const file = join(dir, 'tokens');
  writeFileSync(file, `${writer.line}\n${reader.line}\n`);
  const config = testConfig({ API_TOKENS_FILE: file, API_TOKENS: '', API_TOKENS_RELOAD_MS: '100' });
  // One socket, kept open: every request below travels the same connection (checked per answer).
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  let ingest: RunningIngest;
  let redis: RedisClient;

  /** POSTs one sample as `token`; the status and whether the request reused the open connection. */
  const post = (token: string, viaAgent = agent) =>
    new Promise<{ status: number; reused: boolean }>((resolve, reject) => {
      const url = new URL(`${ingest.url}/v1/metrics/node/conn-node`);
      const req = httpRequest(
        url,
        { method: 'POST', agent: viaAgent, headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` } },
        (res) => {
          res.resume();
          res.on('end', () => resolve({ status: res.statusCode!, reused: req.reusedSocket }));
        },
      );
      req.on('error', reject);
      req.end(JSON.stringify({ timeslice: 10, cpu: 1, mem: 1 }));
    });

  beforeAll(async () => {
    ingest = await startIngest(config, pino({ level: 'silent' }));
    redis = testRedis(config);
    await redis.connect();
  });
  afterAll(async () => {
    agent.destroy();
    await ingest.close();
    await deletePrefix(redis, config.keyPrefix);
    await redis.quit();
    rmSync(dir, { recursive: true, force: true });
  });

  test('another header on a proven connection is checked afresh', async () => {
    expect(await post(writer.token)).toEqual({ status: 202, reused: false });
    expect(await post(writer.token)).toEqual({ status: 202, reused: true });
    expect(await post(`${writer.token}x`)).toEqual({ status: 401, reused: true });
    expect(await post(reader.token)).toEqual({ status: 403, reused: true });
    expect(await post(writer.token)).toEqual({ status: 202, reused: true });
  });

  test('a token removed from the file is refused on the connection that proved it', async () => {
    expect(await post(writer.token)).toEqual({ status: 202, reused: true });
    writeFileSync(file, `${reader.line}\n`);
    const fresh = new Agent({ keepAlive: false });
    await waitUntil(async () => (await post(writer.token, fresh)).status === 401);
    expect(await post(writer.token)).toEqual({ status: 401, reused: true });
  });
});

/**
 * The real collectd (Debian's collectd-core with write_http JSON) in the foreground with the
 * configuration of docs/AGENTS.md, posting to a private ingest for a few seconds: the node and the
 * matched process appear with plausible values, compared with /proc.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RedisClient } from '../../shared/redis';
import { waitForDrained } from '../support/stream-drain';
import { collectdConfig } from '../support/collectd-config';
import { request } from '../support/fetch-json';
import { startPipeline, type TestPipeline } from '../support/pipeline';
import { testConfig, testRedis } from '../support/test-config';
import { bearer, testTokens } from '../support/tokens';
import { waitUntil } from '../support/wait-until';
import { exited } from '../support/worker-process';

const COLLECTD = '/usr/sbin/collectd';

function meminfo(): Record<string, number> {
  const fields: Record<string, number> = {};
  for (const line of readFileSync('/proc/meminfo', 'utf8').split('\n')) {
    const match = /^(\w+):\s+(\d+)/.exec(line);
    if (match) fields[match[1]!] = Number(match[2]);
  }
  return fields;
}

/** Memory used in percent as collectd's memory plugin counts it: total - free - buffers - cached - slab. */
function collectdUsedPercent(): number {
  const m = meminfo();
  return ((m.MemTotal! - m.MemFree! - m.Buffers! - m.Cached! - m.Slab!) / m.MemTotal!) * 100;
}

function rssMb(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(match![1]) / 1024;
}

describe('collectd -> POST /collectd', () => {
  let pipeline: TestPipeline;
  let redis: RedisClient;
  let dir: string;
  const children: ChildProcess[] = [];
  const tokens = testTokens();
  const get = (path: string) => request(`${pipeline.url}${path}`, { headers: bearer(tokens.secrets.read) });

  beforeAll(async () => {
    expect(spawnSync(COLLECTD, ['-h']).error).toBeUndefined(); // .ci/run installs collectd-core
    // Tokens required, as in production: collectd sends its write token in the configured Header.
    pipeline = await startPipeline(testConfig({ STREAM_PARTITIONS: '2', API_TOKENS: tokens.apiTokens }));
    redis = testRedis(pipeline.config);
    await redis.connect();
    dir = mkdtempSync(join(tmpdir(), 'nodeagg-collectd-'));
  });
  afterAll(async () => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await redis.quit();
    await pipeline.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('cpu, memory and a matched process arrive as node and process samples with plausible values', async () => {
    const host = `collectd-${randomBytes(4).toString('hex')}`;
    const tag = `naburn${randomBytes(3).toString('hex')}`;
    // A process with a name of its own that keeps a core busy and holds ~64 MB, bounded in time.
    const burner = spawn(
      process.execPath,
      ['-e', `const b = Buffer.alloc(64 << 20, 1); const end = Date.now() + 30000; while (Date.now() < end && b[0]) {}`, tag],
      {
        stdio: 'ignore',
      },
    );
    children.push(burner);
    const file = join(dir, 'collectd.conf');
    writeFileSync(
      file,
      collectdConfig({
        hostname: host,
        intervalSeconds: 1,
        baseDir: dir,
        pidFile: join(dir, 'collectd.pid'),
        url: `${pipeline.url}/collectd`,
        token: tokens.secrets.write,
        processes: { burner: tag },
      }),
    );
    const collectd = spawn(COLLECTD, ['-f', '-C', file], { stdio: ['ignore', 'ignore', 'pipe'] });
    children.push(collectd);
    let log = '';
    collectd.stderr!.on('data', (chunk) => (log += chunk));

    try {
      // A few seconds of readings: wait for node samples and process samples, bounded.
      await waitUntil(
        async () => {
          const detail = await get(`/v1/nodes/${host}`);
          return detail.status === 200 && detail.body.windows['1m'].samples >= 3 && detail.body.processes.length > 0;
        },
        30_000,
        250,
      );
    } catch (error) {
      throw new Error(`${(error as Error).message}; collectd said: ${log.slice(0, 2000)}`);
    } finally {
      collectd.kill('SIGTERM');
      await exited(collectd);
    }
    const memNow = collectdUsedPercent();
    const rssNow = rssMb(burner.pid!);
    burner.kill('SIGKILL');
    await exited(burner);
    await waitForDrained(redis, pipeline.config.keyPrefix, 2, pipeline.config.consumerGroup, 20_000);

    const detail = (await get(`/v1/nodes/${host}`)).body;
    expect(detail.latest.timeslice).toBe(1);
    expect(detail.latest.cpu).toBeGreaterThanOrEqual(0);
    expect(detail.latest.cpu).toBeLessThanOrEqual(100);
    expect(detail.windows['1m'].cpu.min).toBeGreaterThan(0); // a core is busy the whole time
    expect(Math.abs(detail.latest.mem - memNow)).toBeLessThan(5);
    expect(Date.now() - Date.parse(detail.latest.at)).toBeLessThan(60_000);
    expect(detail.processes.map((p: { name: string }) => p.name)).toEqual(['burner']);

    const burnerWindow = (await get('/v1/analytics/processes/burner?timeslice=60')).body;
    expect(burnerWindow.num_instances).toBe(1);
    expect(burnerWindow.cpu_used).toBeGreaterThan(10); // percent of one core
    expect(burnerWindow.cpu_used).toBeLessThanOrEqual(110);
    expect(burnerWindow.mem_used).toBeGreaterThan(64);
    expect(Math.abs(burnerWindow.mem_used - rssNow) / rssNow).toBeLessThan(0.2);
  });
});

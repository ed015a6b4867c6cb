/** The external load tools: wrk (HTTP) and redis-benchmark (pipelined XADD), run and parsed. */
import { execFile, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ROOT } from './services';

const run = promisify(execFile);

export function requireTools(): void {
  const missing = ['wrk', 'redis-benchmark', 'redis-server'].filter((tool) => spawnSync('which', [tool], { stdio: 'ignore' }).status !== 0);
  if (missing.length > 0) {
    throw new Error(`the benchmark needs ${missing.join(', ')}; on Debian/Ubuntu: sudo apt-get install -y wrk redis-server redis-tools`);
  }
}

export interface WrkResult {
  requestsPerSecond: number;
  requests: number;
  non2xx: number;
  errors: number;
  p50Ms: number;
  p99Ms: number;
}

function toMs(value: string): number {
  const match = /^([\d.]+)(us|ms|s|m)$/.exec(value.trim());
  if (!match) return NaN;
  const factor = { us: 0.001, ms: 1, s: 1000, m: 60_000 }[match[2] as 'us' | 'ms' | 's' | 'm'];
  return Number(match[1]) * factor;
}

export function parseWrk(text: string): WrkResult {
  const number = (re: RegExp) => Number(re.exec(text)?.[1] ?? 0);
  const errors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(text);
  return {
    requestsPerSecond: number(/Requests\/sec:\s+([\d.]+)/),
    requests: number(/(\d+) requests in/),
    non2xx: number(/Non-2xx or 3xx responses: (\d+)/),
    errors: errors
      ? errors
          .slice(1)
          .map(Number)
          .reduce((a, b) => a + b, 0)
      : 0,
    p50Ms: toMs(/^\s+50%\s+(\S+)$/m.exec(text)?.[1] ?? ''),
    p99Ms: toMs(/^\s+99%\s+(\S+)$/m.exec(text)?.[1] ?? ''),
  };
}

/**
 * wrk with one thread; `script` is a file in bench/ (POST bodies), or none for GETs. `token` is
 * sent as a bearer token (-H for GETs, BENCH_TOKEN for the script).
 */
export async function wrk(
  url: string,
  options: { connections: number; seconds: number; script?: string; token?: string; env?: Record<string, string> },
): Promise<WrkResult> {
  const args = [
    '-t1',
    `-c${options.connections}`,
    `-d${options.seconds}s`,
    '--latency',
    ...(options.script ? ['-s', join(ROOT, 'bench', options.script)] : []),
    ...(options.token && !options.script ? ['-H', `Authorization: Bearer ${options.token}`] : []),
    url,
  ];
  const { stdout } = await run('wrk', args, {
    maxBuffer: 1 << 20,
    env: { ...process.env, ...options.env, BENCH_TOKEN: options.token ?? '' },
  });
  return parseWrk(stdout);
}

/** Pipelined XADD of one sample-sized entry each, as fast as this Redis takes them. */
export async function xaddPerSecond(port: number, total: number): Promise<number> {
  const entry = 'N\twrk-__rand_int__\t1764070000000\t10\t42.5\t61';
  const { stdout } = await run(
    'redis-benchmark',
    ['-p', String(port), '-P', '64', '-c', '8', '-n', String(total), '-r', '100000', '-q', 'XADD', 'bench-baseline:xadd', '*', 'd', entry],
    { maxBuffer: 1 << 20 },
  );
  // -q prints "XADD ...: 123456.79 requests per second, p50=..." (possibly after \r progress lines).
  const match = /([\d.]+) requests per second/.exec(stdout.split('\r').pop() ?? stdout);
  if (!match) throw new Error(`could not read redis-benchmark output: ${stdout.slice(-300)}`);
  return Number(match[1]);
}

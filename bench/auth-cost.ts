/**
 * The per-request cost of authentication and rate limiting: single-sample POSTs (the wrk script of
 * the main table) against two ingest processes on the same Redis, one with tokens (checked: hash,
 * constant-time compare, scope, request and sample limits, the known-node cache) and one without
 * (open), alternated so drift on a shared machine hits both alike. Besides requests/s, the ingest
 * process's own CPU time per request, which other load on the machine disturbs less.
 */
import { readFileSync } from 'node:fs';
import type { ChildProcess } from 'node:child_process';
import { drain } from './measure';
import { startExtraIngest, startServices } from './services';
import { wrk, type WrkResult } from './tools';

const CONNECTIONS = 32;
const ROUNDS = 4;
const log = (line: string) => process.stderr.write(`[bench] ${line}\n`);

export interface AuthSide {
  /** One wrk result per round. */
  rounds: WrkResult[];
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  non2xx: number;
  /** Ingest CPU (user + system) per request over the measured phases, microseconds. */
  cpuUsPerRequest: number;
}

export interface AuthCostResult {
  seconds: number;
  open: AuthSide;
  token: AuthSide;
}

const CLOCK_TICK_US = 10_000; // USER_HZ is 100 on Linux

/** utime + stime of a process, in microseconds (Linux /proc). */
function cpuUs(child: ChildProcess): number {
  const text = readFileSync(`/proc/${child.pid}/stat`, 'utf8');
  const fields = text
    .slice(text.lastIndexOf(')') + 2)
    .split(' ')
    .map(Number);
  return (fields[11]! + fields[12]!) * CLOCK_TICK_US;
}

function side(rounds: WrkResult[], cpu: number): AuthSide {
  const requests = rounds.reduce((sum, r) => sum + r.requests, 0);
  const mean = (f: (r: WrkResult) => number) => rounds.reduce((sum, r) => sum + f(r), 0) / rounds.length;
  return {
    rounds,
    requestsPerSecond: mean((r) => r.requestsPerSecond),
    p50Ms: mean((r) => r.p50Ms),
    p99Ms: mean((r) => r.p99Ms),
    non2xx: rounds.reduce((sum, r) => sum + r.non2xx, 0),
    cpuUsPerRequest: requests > 0 ? cpu / requests : NaN,
  };
}

export async function runAuthCost(seconds: number): Promise<AuthCostResult> {
  log('auth cost: starting Redis, a worker, an ingest with tokens and one without');
  const services = await startServices(1);
  const open = await startExtraIngest(services, {});
  try {
    const targets = {
      open: { url: open.url, child: open.child, token: undefined },
      token: { url: services.ingestUrl, child: services.ingest, token: services.token },
    };
    for (const t of Object.values(targets)) await wrk(t.url, { connections: CONNECTIONS, seconds: 2, script: 'post.lua', token: t.token });
    const results = { open: [] as WrkResult[], token: [] as WrkResult[] };
    const cpu = { open: 0, token: 0 };
    for (let round = 0; round < ROUNDS; round++) {
      for (const name of round % 2 === 0 ? (['open', 'token'] as const) : (['token', 'open'] as const)) {
        const t = targets[name];
        log(`auth cost round ${round + 1}: ${name}, wrk -c${CONNECTIONS} ${seconds} s`);
        const before = cpuUs(t.child);
        results[name].push(await wrk(t.url, { connections: CONNECTIONS, seconds, script: 'post.lua', token: t.token }));
        cpu[name] += cpuUs(t.child) - before;
        await drain(services.ingestUrl, services.token);
      }
    }
    return { seconds, open: side(results.open, cpu.open), token: side(results.token, cpu.token) };
  } finally {
    await new Promise<void>((resolve) => {
      if (open.child.exitCode !== null) return resolve();
      open.child.once('exit', () => resolve());
      open.child.kill('SIGTERM');
    });
    await services.stop();
  }
}

export function renderAuthCost(result: AuthCostResult): string {
  const n = (v: number, digits = 0) =>
    Number.isFinite(v) ? v.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }) : '-';
  const { open, token } = result;
  return [
    '### Per-request cost of authentication and rate limiting',
    '',
    `Single-sample POSTs, \`wrk -t1 -c${CONNECTIONS}\` with \`bench/post.lua\`, ${ROUNDS} alternated rounds of ${result.seconds} s per side.`,
    '',
    '| figure | without a token (open ingest) | with a token (tokens, scopes, limits) | difference |',
    '|---|---|---|---|',
    `| POSTs/s | ${n(open.requestsPerSecond)} | ${n(token.requestsPerSecond)} | x${n(token.requestsPerSecond / open.requestsPerSecond, 2)} |`,
    `| latency p50 / p99 | ${n(open.p50Ms, 2)} / ${n(open.p99Ms, 2)} ms | ${n(token.p50Ms, 2)} / ${n(token.p99Ms, 2)} ms | |`,
    `| ingest CPU per request | ${n(open.cpuUsPerRequest, 1)} µs | ${n(token.cpuUsPerRequest, 1)} µs | ${n(token.cpuUsPerRequest - open.cpuUsPerRequest, 1)} µs |`,
    `| non-2xx responses | ${open.non2xx} | ${token.non2xx} | |`,
    `| rounds, POSTs/s | ${open.rounds.map((r) => n(r.requestsPerSecond)).join(', ')} | ${token.rounds.map((r) => n(r.requestsPerSecond)).join(', ')} | |`,
    '',
  ].join('\n');
}

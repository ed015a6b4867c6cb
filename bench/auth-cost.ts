/**
 * The per-request cost of authentication and rate limiting: single-sample POSTs (the wrk script of
 * the main table) against two ingest processes on the same Redis, one with tokens (checked: hash,
 * constant-time compare, scope, request and sample limits, the known-node cache) and one without
 * (open), alternated so drift on a shared machine hits both alike. Besides requests/s, the ingest
 * process's own CPU time per request, which other load on the machine disturbs less.
 */
import { Registry } from 'prom-client';
import { authorize } from '../shared/auth/authorize';
import { SCOPES } from '../shared/auth/scopes';
import { parseTokenFile } from '../shared/auth/token-file';
import { TokenStore } from '../shared/auth/token-store';
import { createToken } from '../cli/commands/token';
import type { Config } from '../shared/config';
import { createLogger } from '../shared/logger';
import { NodeCardinality } from '../ingest/limits/node-cardinality';
import { TokenLimits } from '../ingest/limits/token-limits';
import { drain } from './measure';
import { processCpuUs } from './process-cpu';
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
  /** The checks alone, in this process, per single-sample POST: median of 5 runs of 100,000, microseconds. */
  checksUs: { authorize: number; limits: number; knownNode: number; total: number };
}

/**
 * What a single-sample POST with a token adds, timed in process without HTTP: the token check
 * (sha256, constant-time compare, scope), the request and sample limiters, and the known-node
 * lookup of a cached name. Less disturbed by a busy machine than the HTTP figures.
 */
export async function checksInProcess(): Promise<AuthCostResult['checksUs']> {
  const created = createToken('bench', [...SCOPES]);
  const store = new TokenStore(parseTokenFile(created.line, 'API_TOKENS'));
  const header = `Bearer ${created.token}`;
  const limits = new TokenLimits(
    { rateLimitRequestsPerSecond: 1e9, rateLimitSamplesPerSecond: 1e9, newNodesPerMinute: 1e9 } as Config,
    () => undefined,
  );
  const cardinality = new NodeCardinality(
    { retainedCount: () => Promise.resolve(0), existing: (names) => Promise.resolve(new Set(names)) },
    250_000,
    createLogger('bench', 'silent'),
    new Registry(),
  );
  await cardinality.newNames(['wrk-1']);
  const N = 100_000;
  const time = async (step: () => unknown): Promise<number> => {
    const runs: number[] = [];
    for (let run = 0; run < 5; run++) {
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < N; i++) await step();
      runs.push(Number(process.hrtime.bigint() - t0) / N / 1000);
    }
    return runs.sort((a, b) => a - b)[2]!;
  };
  const result = {
    authorize: await time(() => authorize(store, header, 'write')),
    limits: await time(async () => {
      await limits.takeRequest('bench');
      await limits.takeSamples('bench', 1);
    }),
    knownNode: await time(() => cardinality.newNames(['wrk-1'])),
  };
  return { ...result, total: result.authorize + result.limits + result.knownNode };
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
        const before = processCpuUs(t.child.pid!);
        results[name].push(await wrk(t.url, { connections: CONNECTIONS, seconds, script: 'post.lua', token: t.token }));
        cpu[name] += processCpuUs(t.child.pid!) - before;
        await drain(services.ingestUrl, services.token);
      }
    }
    log('auth cost: the checks alone, in process');
    return { seconds, open: side(results.open, cpu.open), token: side(results.token, cpu.token), checksUs: await checksInProcess() };
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
    `The checks alone, in process (median of 5 x 100,000): token ${n(result.checksUs.authorize, 2)} µs, ` +
      `request and sample limiters ${n(result.checksUs.limits, 2)} µs, known-node lookup ${n(result.checksUs.knownNode, 2)} µs; ` +
      `${n(result.checksUs.total, 2)} µs per single-sample POST. None of it touches Redis.`,
    '',
  ].join('\n');
}

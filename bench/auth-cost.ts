/**
 * The per-request cost of authentication and rate limiting: single-sample POSTs (the wrk script of
 * the main table) against two ingest processes on the same Redis, one with tokens (checked: hash,
 * constant-time compare, scope, request and sample limits, the known-node cache) and one without
 * (open), in alternated rounds (alternating-rounds.ts).
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
import { alternatingRounds, type WrkSide } from './alternating-rounds';
import { startExtraIngest, startServices, stopProcess } from './services';

const CONNECTIONS = 32;
const ROUNDS = 4;
const log = (line: string) => process.stderr.write(`[bench] ${line}\n`);

export type AuthSide = WrkSide;

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

export async function runAuthCost(seconds: number): Promise<AuthCostResult> {
  log('auth cost: starting Redis, a worker, an ingest with tokens and one without');
  const services = await startServices(1);
  const open = await startExtraIngest(services, {});
  try {
    const targets = {
      open: { url: open.url, child: open.child, token: undefined },
      token: { url: services.ingestUrl, child: services.ingest, token: services.token },
    };
    const sides = await alternatingRounds(targets, ['open', 'token'], {
      rounds: ROUNDS,
      connections: CONNECTIONS,
      seconds,
      script: 'post.lua',
      after: () => drain(services.ingestUrl, services.token).then(() => undefined),
      log: (line) => log(`auth cost ${line}`),
    });
    log('auth cost: the checks alone, in process');
    return { seconds, ...sides, checksUs: await checksInProcess() };
  } finally {
    await stopProcess(open.child);
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

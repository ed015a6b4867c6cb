/**
 * The cost of REDIS_WAIT_REPLICAS=1: two ingest processes on one master with one replica, one
 * answering 202 once the master has a write (0), the other once the replica confirmed it (1),
 * measured in alternated rounds (alternating-rounds.ts) with single-sample POSTs and with
 * 1,000-sample NDJSON batches, the loads of the main table.
 */
import { startPrivateReplica } from '../launcher/private-replica';
import { alternatingRounds, type WrkSide } from './alternating-rounds';
import { drain } from './measure';
import { startExtraIngest, startServices, stopProcess } from './services';

const SINGLE_CONNECTIONS = 50;
const BATCH_CONNECTIONS = 8;
const BATCH_SAMPLES = 1000;
const ROUNDS = 3;
const log = (line: string) => process.stderr.write(`[bench] ${line}\n`);

export interface ReplicaWaitCostResult {
  seconds: number;
  single: { noWait: WrkSide; wait: WrkSide };
  batch: { noWait: WrkSide; wait: WrkSide };
  /** nodeagg_replication_timeouts_total of the waiting ingest at the end (503 REPLICATION_TIMEOUT writes). */
  replicationTimeouts: number;
}

async function replicationTimeouts(url: string, token: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`, { headers: token ? { authorization: `Bearer ${token}` } : {} })).text();
  return Number(/^nodeagg_replication_timeouts_total (\S+)$/m.exec(text)?.[1] ?? NaN);
}

export async function runReplicaWaitCost(seconds: number): Promise<ReplicaWaitCostResult> {
  log('replica wait: starting Redis with a replica, a worker, an ingest with REDIS_WAIT_REPLICAS=0 and one with 1');
  const services = await startServices(1);
  const replica = await startPrivateReplica(services.redis);
  const waiting = await startExtraIngest(services, { API_TOKENS: services.env.API_TOKENS ?? '', REDIS_WAIT_REPLICAS: '1' });
  try {
    const { token } = services;
    const targets = {
      noWait: { url: services.ingestUrl, child: services.ingest, token },
      wait: { url: waiting.url, child: waiting.child, token },
    };
    const common = {
      rounds: ROUNDS,
      seconds,
      after: () => drain(services.ingestUrl, token).then(() => undefined),
      log: (line: string) => log(`replica wait ${line}`),
    };
    const single = await alternatingRounds(targets, ['noWait', 'wait'], { ...common, connections: SINGLE_CONNECTIONS, script: 'post.lua' });
    const batch = await alternatingRounds(targets, ['noWait', 'wait'], {
      ...common,
      connections: BATCH_CONNECTIONS,
      script: 'post-batch.lua',
    });
    return { seconds, single, batch, replicationTimeouts: await replicationTimeouts(waiting.url, token) };
  } finally {
    await stopProcess(waiting.child);
    await replica.destroy();
    await services.stop();
  }
}

export function renderReplicaWaitCost(result: ReplicaWaitCostResult): string {
  const n = (v: number, digits = 0) =>
    Number.isFinite(v) ? v.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }) : '-';
  const rows = (what: string, perRequest: number, sides: { noWait: WrkSide; wait: WrkSide }) => {
    const { noWait, wait } = sides;
    const rate = (side: WrkSide) => side.requestsPerSecond * perRequest;
    return [
      `| ${what}/s | ${n(rate(noWait))} | ${n(rate(wait))} | x${n(rate(wait) / rate(noWait), 2)} |`,
      `| ${what}: latency p50 / p99 | ${n(noWait.p50Ms, 2)} / ${n(noWait.p99Ms, 2)} ms | ${n(wait.p50Ms, 2)} / ${n(wait.p99Ms, 2)} ms | |`,
      `| ${what}: ingest CPU per request | ${n(noWait.cpuUsPerRequest, 1)} µs | ${n(wait.cpuUsPerRequest, 1)} µs | ${n(wait.cpuUsPerRequest - noWait.cpuUsPerRequest, 1)} µs |`,
      `| ${what}: non-2xx responses | ${noWait.non2xx} | ${wait.non2xx} | |`,
      `| ${what}: rounds, requests/s | ${noWait.rounds.map((r) => n(r.requestsPerSecond)).join(', ')} | ${wait.rounds.map((r) => n(r.requestsPerSecond)).join(', ')} | |`,
    ];
  };
  return [
    '### Waiting for replicas: REDIS_WAIT_REPLICAS=0 against 1',
    '',
    `One master with one replica (same machine), two ingest processes on it, ${ROUNDS} alternated rounds of ${result.seconds} s per side: ` +
      `single-sample POSTs (\`wrk -t1 -c${SINGLE_CONNECTIONS}\`, \`bench/post.lua\`) and ${n(BATCH_SAMPLES)}-sample NDJSON batches ` +
      `(\`wrk -t1 -c${BATCH_CONNECTIONS}\`, \`bench/post-batch.lua\`).`,
    '',
    '| figure | REDIS_WAIT_REPLICAS=0 | REDIS_WAIT_REPLICAS=1 | ratio or difference |',
    '|---|---|---|---|',
    ...rows('single POSTs', 1, result.single),
    ...rows('batch samples', BATCH_SAMPLES, result.batch),
    '',
    `Writes the replica did not confirm in time (503 REPLICATION_TIMEOUT): ${n(result.replicationTimeouts)}.`,
    '',
  ].join('\n');
}

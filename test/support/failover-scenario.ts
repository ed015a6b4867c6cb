/**
 * The file's own cluster of 3 masters with a replica each (the failover files run side by side,
 * each on its own), torn down after its tests, and a cleanup run after each test.
 */
export function failoverCluster(): { cluster(): PrivateCluster; cleanup: Cleanup } {
  let cluster: PrivateCluster | undefined;
  const cleanup = new Cleanup();
  beforeAll(async () => {
    cluster = await startPrivateCluster({ masters: 3, replicasPerMaster: 1 });
  }, 60_000);
  afterEach(() => cleanup.run());
  afterAll(async () => {
    await cluster?.destroy();
  });
  return {
    cluster: () => {
      if (!cluster) throw new Error('the failover cluster has not started');
      return cluster;
    },
    cleanup,
  };
}

/**
 * A master of a private Redis Cluster killed under load (the failover tests). Ingest and a
 * worker run on the cluster; posters send batches with Idempotency-Keys and retry anything but
 * a 202. The master holding partition 0 first loses its replica: the replica is frozen
 * (SIGSTOP) and the master drops the replication connection, so whatever the master takes from
 * then on exists on it alone, as when a master dies before its replica caught up. Then the
 * master is SIGKILLed, the replica resumes and is promoted, and the old master comes back as
 * its replica. Every sample is counted afterwards.
 */
import { randomBytes } from 'node:crypto';
import { Agent } from 'node:http';
import { startPrivateCluster, type PrivateCluster } from '../../launcher/private-cluster';
import { loadConfig } from '../../shared/config';
import { partitionOf } from '../../shared/partition';
import { allPartitionKeys } from '../../shared/store/keys';
import { LoadGenerator, nodeNames, type RequestRecord } from './batch-load-generator';
import { Cleanup } from './cleanup';
import { nodeOnPort, shardOfSlot, slotOf, waitUntilPromoted, waitUntilReplicating } from './cluster-topology';
import type { Outcome } from './http-outcomes';
import { fleetTotals, perNodeCounts } from './aggregate-totals';
import { connectAdmin } from './redis-audit';
import { startIngestProcess, startWorkerProcess } from './service-processes';
import { waitForDrained } from './stream-drain';

const PARTITIONS = 6;

export interface FailoverFigures {
  /** Samples of 202 answers whose stream entry the promoted replica never got. */
  lostSamples: number;
  /** Requests answered 202 after the replica link was cut whose entries include the dead master's partitions. */
  acceptedAloneOnMaster: number;
  /** Requests (all attempts) and samples sent; requests eventually answered 202. */
  requests: number;
  acceptedRequests: number;
  acceptedSamples: number;
  /** Samples in the aggregates after the worker drained. */
  countedSamples: number;
  /** Per node: expected (accepted minus lost) against counted, where they differ. */
  wrongNodes: [string, number, number][];
  /** Answers after the replica link was cut, by status or error code. */
  answersSinceCut: Record<string, number>;
  /** Answers between the kill and the promotion. */
  answersDuringFailover: Record<string, number>;
  /** Answers that were neither 202 nor 503. */
  unexpected: string[];
  acceptedAfterRecovery: number;
  log: string;
}

function answerKey(outcome: Outcome): string {
  if (outcome.kind !== 'response') return outcome.kind;
  const code = (outcome.body as { error?: { code?: string } } | undefined)?.error?.code;
  return code ? `${outcome.status} ${code}` : String(outcome.status);
}

function histogram(records: readonly RequestRecord[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const r of records) counts[answerKey(r.outcome)] = (counts[answerKey(r.outcome)] ?? 0) + 1;
  return counts;
}

export async function runFailover(cluster: PrivateCluster, waitReplicas: number, cleanup: Cleanup): Promise<FailoverFigures> {
  const label = `failover${waitReplicas}`;
  const nodes = nodeNames(label, 60);
  const env = {
    REDIS_CLUSTER_NODES: cluster.seeds,
    KEY_PREFIX: `${label}${randomBytes(3).toString('hex')}`,
    STREAM_PARTITIONS: String(PARTITIONS),
    LOG_LEVEL: 'silent',
    REDIS_COMMAND_TIMEOUT_MS: '1000',
    REDIS_WAIT_REPLICAS: String(waitReplicas),
    REDIS_WAIT_TIMEOUT_MS: '500',
    WORKER_BLOCK_MS: '200',
    // Entries the worker read on the dead master come back undelivered or pending: take them soon.
    WORKER_CLAIM_IDLE_MS: '1000',
    WORKER_CLAIM_INTERVAL_MS: '250',
    // No trimming while the test reads the streams to find what the failover dropped.
    MAINTENANCE_INTERVAL_MS: '3600000',
  };
  const config = loadConfig(env);
  // The old master's full resync must not wait for more replicas to join it.
  for (const node of cluster.nodes) await cluster.cli(node.port, ['config', 'set', 'repl-diskless-sync-delay', '0']);
  const admin = await connectAdmin(config);
  cleanup.add(() => admin.quit());
  const ingest = await startIngestProcess(env);
  cleanup.add(() => ingest.kill());
  const worker = await startWorkerProcess(env, `${label}-worker`);
  cleanup.add(() => worker.kill());
  const agent = new Agent({ keepAlive: true, maxSockets: 8 });
  cleanup.add(() => agent.destroy());

  const streams = allPartitionKeys(config.keyPrefix, PARTITIONS).map((keys) => keys.stream);
  const { master, replicas } = await shardOfSlot(cluster, await slotOf(cluster, streams[0]!));
  const victim = nodeOnPort(cluster, master.port);
  const replica = nodeOnPort(cluster, replicas[0]!.port);
  const victimPartitions = new Set<number>();
  for (const [p, stream] of streams.entries()) {
    if ((await shardOfSlot(cluster, await slotOf(cluster, stream))).master.id === master.id) victimPartitions.add(p);
  }

  const load = new LoadGenerator({
    url: ingest.url,
    concurrency: 6,
    samplesPerRequest: 10,
    nodes,
    paceMs: 20,
    timeoutMs: 10_000,
    agent,
    idempotencyKeys: true,
  });
  load.start();
  cleanup.add(() => load.abort());
  await load.waitFor(() => load.count(202) >= 40, 20_000, '40 accepted requests before the fault');

  // The replica stops confirming: frozen, and its connection dropped by the master.
  replica.process.kill('SIGSTOP');
  cleanup.add(() => replica.process.kill('SIGCONT'));
  await cluster.cli(victim.port, ['client', 'kill', 'type', 'replica']);
  const cutAt = Date.now();
  const onVictim = (r: RequestRecord) => r.positions.some((p) => victimPartitions.has(p.partition));
  // Answered 202 while the master had no replica confirming, before it died.
  let killedAt = Infinity;
  const aloneOnMaster = () =>
    load.records.filter(
      (r) => r.startedAt >= cutAt && r.endedAt < killedAt && r.outcome.kind === 'response' && r.outcome.status === 202 && onVictim(r),
    );
  const unconfirmed = () => load.records.filter((r) => r.startedAt >= cutAt && answerKey(r.outcome) === '503 REPLICATION_TIMEOUT');
  // Without waits the master goes on answering 202 alone; with them, ingest refuses.
  if (waitReplicas === 0) await load.waitFor(() => aloneOnMaster().length >= 10, 20_000, '10 requests accepted by the master alone');
  else await load.waitFor(() => unconfirmed().length >= 5, 20_000, '5 answers 503 REPLICATION_TIMEOUT');

  await victim.stop('SIGKILL');
  killedAt = Date.now();
  replica.process.kill('SIGCONT');
  await waitUntilPromoted(cluster, replica.port);
  const promotedAt = Date.now();
  // Back as the new master's replica (its nodes.conf names the old epoch): the shard has a replica again.
  await victim.restart();
  await waitUntilReplicating(cluster, victim.port);
  await cluster.waitUntilHealthy(30_000);
  await load.waitFor(() => load.count(202, promotedAt) >= 30, 30_000, '30 accepted requests after the promotion');
  await load.stop();
  await waitForDrained(admin, config.keyPrefix, PARTITIONS, config.consumerGroup, 30_000);

  // What the promoted replica holds of each entry a 202 named.
  const present = new Set<string>();
  for (const [p, stream] of streams.entries()) for (const [id] of await admin.xrange(stream, '-', '+')) present.add(`${p}/${id}`);
  const accepted = load.accepted();
  const expected = new Map(accepted.perNode);
  let lostSamples = 0;
  const seen = new Set<number>();
  for (const record of load.records) {
    if (record.outcome.kind !== 'response' || record.outcome.status !== 202 || seen.has(record.seq)) continue;
    seen.add(record.seq);
    for (const { partition, id } of record.positions) {
      if (present.has(`${partition}/${id}`)) continue;
      for (const item of record.items.filter((i) => partitionOf(i.node, PARTITIONS) === partition)) {
        lostSamples++;
        expected.set(item.node, expected.get(item.node)! - 1);
      }
    }
  }
  const countedPerNode = await perNodeCounts(admin, config.keyPrefix, PARTITIONS, nodes);
  const countedSamples = (await fleetTotals(admin, config.keyPrefix, PARTITIONS)).samples;
  const wrongNodes: [string, number, number][] = nodes
    .map((node): [string, number, number] => [node, expected.get(node) ?? 0, countedPerNode.get(node) ?? 0])
    .filter(([, want, got]) => want !== got);

  const figures = load.figures();
  const sinceCut = load.records.filter((r) => r.startedAt >= cutAt);
  const duringFailover = load.records.filter((r) => r.startedAt >= killedAt && r.startedAt < promotedAt);
  const result: FailoverFigures = {
    lostSamples,
    acceptedAloneOnMaster: aloneOnMaster().length,
    requests: new Set(load.records.map((r) => r.seq)).size,
    acceptedRequests: accepted.requests,
    acceptedSamples: accepted.samples,
    countedSamples,
    wrongNodes,
    answersSinceCut: histogram(sinceCut),
    answersDuringFailover: histogram(duringFailover),
    unexpected: load.unexpected((o) => o.kind === 'response' && (o.status === 202 || o.status === 503)),
    acceptedAfterRecovery: load.count(202, promotedAt),
    log: '',
  };
  result.log = [
    `cluster failover, REDIS_WAIT_REPLICAS=${waitReplicas} (partitions ${[...victimPartitions].join(', ')} of ${PARTITIONS} on the killed master):`,
    `  sent ${result.requests} requests in ${figures.sentRequests} attempts; accepted (202) ${result.acceptedRequests} requests / ${result.acceptedSamples} samples; counted ${countedSamples} samples`,
    `  samples answered 202 and lost with the master: ${lostSamples} (${result.acceptedAloneOnMaster} requests answered 202 by the master alone after its replica stopped confirming)`,
    `  answers since the replica stopped: ${JSON.stringify(result.answersSinceCut)}; between the kill and the promotion (${promotedAt - killedAt} ms): ${JSON.stringify(result.answersDuringFailover)}`,
  ].join('\n');
  return result;
}

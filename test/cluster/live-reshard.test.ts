/**
 * A live reshard: every partition's hash slot moves to another master, chunk by chunk, while
 * ingest takes single samples and batches for every partition (with Idempotency-Keys, retried
 * after a 503) and two workers block in XREADGROUP and apply with scripts on those very slots.
 * Afterwards every sample of a 202 is in the aggregates exactly once.
 */
import { randomBytes } from 'node:crypto';
import { Agent } from 'node:http';
import { startPrivateCluster, type PrivateCluster } from '../../launcher/private-cluster';
import { loadConfig } from '../../shared/config';
import { partitionOf } from '../../shared/partition';
import { partitionKeys } from '../../shared/store/keys';
import { LoadGenerator, nodeNames } from '../support/batch-load-generator';
import { Cleanup } from '../support/cleanup';
import { SlotMover, type SlotMove } from '../support/cluster-reshard';
import { fleetTotals, perNodeCounts } from '../support/aggregate-totals';
import { connectAdmin } from '../support/redis-audit';
import { startIngestProcess, startWorkerProcess } from '../support/service-processes';
import { waitForDrained } from '../support/stream-drain';

const PARTITIONS = 6;
const NODES = nodeNames('reshard-host', 36);
/**
 * Answers (of both loads) to wait for after each chunk, while the slot stays half-moved. Not
 * acceptances: a script that creates keys in a half-moved slot gets TRYAGAIN until the slot
 * has moved (Redis cannot tell a missing key from one already moved), so a write to that
 * partition ends in a 503 meanwhile, and a batch spanning every partition does too.
 */
const ANSWERS_PER_CHUNK = 2;
/** Each slot moves in this many chunks (MIGRATE calls): enough to be half-moved twice, few enough to stay quick. */
const CHUNKS_PER_SLOT = 3;

describe('live reshard under load', () => {
  let cluster: PrivateCluster;
  const cleanup = new Cleanup();
  const agent = new Agent({ keepAlive: true, maxSockets: 16 });

  beforeAll(async () => {
    cluster = await startPrivateCluster({ masters: 3, replicasPerMaster: 0 });
  });
  afterEach(() => cleanup.run());
  afterAll(async () => {
    agent.destroy();
    await cluster?.destroy();
  });

  test('every partition slot moves to another master while samples flow; nothing is lost or counted twice', async () => {
    const prefix = `reshard${randomBytes(3).toString('hex')}`;
    const env = {
      REDIS_URL: cluster.nodes[0]!.url,
      REDIS_CLUSTER_NODES: cluster.seeds,
      KEY_PREFIX: prefix,
      STREAM_PARTITIONS: String(PARTITIONS),
      LOG_LEVEL: 'silent',
      WORKER_BLOCK_MS: '200',
      WORKER_BATCH_SIZE: '20',
      WORKER_CLAIM_IDLE_MS: '1000',
      WORKER_CLAIM_INTERVAL_MS: '250',
    };
    // Every partition gets samples from both loads.
    expect(new Set(NODES.map((node) => partitionOf(node, PARTITIONS))).size).toBe(PARTITIONS);
    const config = loadConfig(env);
    const admin = await connectAdmin(config);
    cleanup.add(() => admin.quit());
    const mover = await SlotMover.connect(cluster.seeds.split(',')[0]!);
    cleanup.add(() => mover.close());

    const ingest = await startIngestProcess(env);
    cleanup.add(() => ingest.kill());
    const workers = await Promise.all(['reshard-a', 'reshard-b'].map((name) => startWorkerProcess(env, name)));
    for (const worker of workers) cleanup.add(() => worker.kill());

    const common = { url: ingest.url, nodes: NODES, paceMs: 20, timeoutMs: 10_000, agent, idempotencyKeys: true };
    const batches = new LoadGenerator({ ...common, concurrency: 3, samplesPerRequest: 12, keyStem: 'batch' });
    const singles = new LoadGenerator({ ...common, concurrency: 3, samplesPerRequest: 1, route: 'single', keyStem: 'single' });
    const loads = [batches, singles];
    for (const load of loads) {
      load.start();
      cleanup.add(() => load.abort());
    }
    const accepted = () => batches.count(202) + singles.count(202);
    const answered = () => batches.records.length + singles.records.length;
    await batches.waitFor(() => batches.count(202) >= 20 && singles.count(202) >= 20, 20_000, '20 accepted requests of each load');

    const errorsBefore = await mover.errorReplies();
    const slots = [
      ...new Set(
        await Promise.all(Array.from({ length: PARTITIONS }, (_, p) => mover.slotOf(partitionKeys(prefix, p, PARTITIONS).stream))),
      ),
    ];
    const moves: SlotMove[] = [];
    for (const slot of slots) {
      const owner = await mover.ownerOf(slot);
      const target = await mover.nextOwnerFor(slot);
      moves.push(
        await mover.moveSlot(slot, target.id, {
          keysPerMigrate: Math.max(1, Math.ceil((await mover.keysIn(slot)) / CHUNKS_PER_SLOT)),
          betweenChunks: async () => {
            const until = answered() + ANSWERS_PER_CHUNK;
            await batches.waitFor(() => answered() >= until, 20_000, `${ANSWERS_PER_CHUNK} more answers while slot ${slot} is half-moved`);
          },
        }),
      );
      expect((await mover.ownerOf(slot)).id).not.toBe(owner.id);
    }
    // Some load on the slots' new owners, then stop (retries with their keys run to a 202).
    const until = accepted() + 20;
    await batches.waitFor(() => accepted() >= until, 20_000, '20 accepted requests after the reshard');
    await Promise.all(loads.map((load) => load.stop()));
    const errorsAfter = await mover.errorReplies();

    // Every request ended in a 202 (after 503s at most), never a 500, a hang or a dropped connection.
    for (const load of loads) {
      expect(load.unexpected((outcome) => outcome.kind === 'response' && (outcome.status === 202 || outcome.status === 503))).toEqual([]);
      const answered = new Set(load.records.filter((r) => r.outcome.kind === 'response' && r.outcome.status === 202).map((r) => r.seq));
      expect(load.records.filter((r) => !answered.has(r.seq)).map((r) => r.seq)).toEqual([]);
    }

    await waitForDrained(admin, prefix, PARTITIONS, config.consumerGroup, 30_000);
    const sent = { batches: batches.accepted(), singles: singles.accepted() };
    const samples = sent.batches.samples + sent.singles.samples;
    const totals = await fleetTotals(admin, prefix, PARTITIONS);
    expect(totals.samples).toBe(samples);
    expect(totals.cpuSeconds).toBeCloseTo(sent.batches.cpuSeconds + sent.singles.cpuSeconds, 6);
    expect(totals.memSeconds).toBeCloseTo(sent.batches.memSeconds + sent.singles.memSeconds, 6);
    const expectedPerNode = new Map(
      NODES.map((node) => [node, (sent.batches.perNode.get(node) ?? 0) + (sent.singles.perNode.get(node) ?? 0)]),
    );
    expect(await perNodeCounts(admin, prefix, PARTITIONS, NODES)).toEqual(expectedPerNode);

    // The load met the moving slots: scripts got TRYAGAIN, single keys ASK, readers of a moved stream MOVED.
    const met = (code: string) => (errorsAfter[code] ?? 0) - (errorsBefore[code] ?? 0);
    expect(met('TRYAGAIN') + met('ASK')).toBeGreaterThan(0);
    for (const move of moves) expect(move.chunks).toBeGreaterThan(1);
    process.stderr.write(
      `live reshard: ${slots.length} slots moved (${moves.map((m) => `${m.slot}: ${m.keys} keys in ${m.chunks} chunks`).join(', ')}); ` +
        `${samples} samples accepted (batches ${JSON.stringify(batches.histogram())}, singles ${JSON.stringify(singles.histogram())}); ` +
        `TRYAGAIN ${met('TRYAGAIN')}, ASK ${met('ASK')}, MOVED ${met('MOVED')}\n`,
    );
  });
});

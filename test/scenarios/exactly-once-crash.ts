/**
 * Exactly once (docs/ARCHITECTURE.md): workers killed with SIGKILL in the middle of batches while two
 * others keep going. After the stream drains, every sample is counted once.
 */
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { loadConfig, type Config } from '../../shared/config';
import { createLogger } from '../../shared/logger';
import { createRedisClient, type RedisClient } from '../../shared/redis';
import { startIngest, type RunningIngest } from '../../ingest/server';
import { fleetTotals, perNodeCounts } from '../support/aggregate-totals';
import { waitForDrained } from '../support/stream-drain';
import { baseTime } from '../support/build-sample';
import { postJson } from '../support/fetch-json';
import { killHard, spawnService, WORKER_ENTRY } from '../support/worker-process';
import { allPartitionKeys } from '../../shared/store/keys';

const PARTITIONS = 4;
const NODES = Array.from({ length: 40 }, (_, i) => `host-${i}`);

/** Where the scenario's Redis is: REDIS_URL and REDIS_CLUSTER_NODES as the services read them. */
export interface RedisTarget {
  env: { REDIS_URL: string; REDIS_CLUSTER_NODES: string };
  destroy(): Promise<void>;
}

export interface ExactlyOnceCrashOptions {
  /** Started once for the file (a private Redis, or a cluster). */
  startRedis(): Promise<RedisTarget>;
  rounds: number;
}

export function exactlyOnceCrashScenarios(options: ExactlyOnceCrashOptions): void {
  describe('exactly once under worker crashes', () => {
    let target: RedisTarget;
    let redis: RedisClient;

    beforeAll(async () => {
      target = await options.startRedis();
    });
    afterAll(async () => {
      await target.destroy();
    });

    async function runScenario(round: number): Promise<{ sent: number; counted: number; midBatchKills: number; kills: number }> {
      const env = {
        ...target.env,
        KEY_PREFIX: `crash${round}${randomBytes(3).toString('hex')}`,
        STREAM_PARTITIONS: String(PARTITIONS),
        INGEST_HOST: '127.0.0.1',
        INGEST_PORT: '0',
        WORKER_HEALTH_PORT: '0',
        WORKER_BATCH_SIZE: '20',
        WORKER_BLOCK_MS: '50',
        WORKER_CLAIM_IDLE_MS: '500',
        WORKER_CLAIM_INTERVAL_MS: '100',
        LOG_LEVEL: 'silent',
      };
      const config: Config = loadConfig(env);
      redis = createRedisClient(config, { connectionName: 'crash-test' });
      await redis.connect();
      const ingest: RunningIngest = await startIngest(config, createLogger('ingest', 'silent'));
      const spawnWorker = (name: string) => spawnService(WORKER_ENTRY, { ...env, WORKER_CONSUMER_NAME: name });
      const survivors = [spawnWorker('steady-a'), spawnWorker('steady-b')];
      let victim: ChildProcess = spawnWorker(`victim-${round}-0`);
      let victimName = `victim-${round}-0`;

      const sentPerNode = new Map<string, number>();
      let sent = 0;
      let cpuSeconds = 0;
      const t0 = baseTime();
      let posting = true;
      const load = (async () => {
        for (let request = 0; posting || request < 150; request++) {
          const items = Array.from({ length: 25 }, (_, i) => {
            const node = NODES[(request * 7 + i) % NODES.length]!;
            const timeslice = 1 + ((request + i) % 9);
            const cpu = (request * 31 + i * 17) % 100;
            return { node, at: t0 - ((request * 25 + i) % 3000) * 1000, timeslice, cpu, mem: (i * 3) % 100 };
          });
          const response = await postJson(`${ingest.url}/v1/samples`, items);
          expect(response.status).toBe(202);
          for (const item of items) {
            sentPerNode.set(item.node, (sentPerNode.get(item.node) ?? 0) + 1);
            cpuSeconds += item.cpu * item.timeslice;
          }
          sent += items.length;
          if (request >= 2000) break;
        }
      })();

      let kills = 0;
      let midBatchKills = 0;
      // One XPENDING per partition (no pipeline spans partitions: a cluster may hold them apart).
      const heldBy = async (consumer: string) => {
        const replies = await Promise.all(
          allPartitionKeys(env.KEY_PREFIX, PARTITIONS).map((p) => redis.xpending(p.stream, config.consumerGroup, '-', '+', 10, consumer)),
        );
        return replies.reduce((n, pending) => n + (pending as unknown[]).length, 0);
      };
      const joined = async (consumer: string) => {
        const consumers = (await redis
          .xinfo('CONSUMERS', allPartitionKeys(env.KEY_PREFIX, PARTITIONS)[0]!.stream, config.consumerGroup)
          .catch(() => [])) as unknown[][];
        return consumers.some((fields) => fields[1] === consumer);
      };
      for (let k = 0; k < 5; k++) {
        // A slow machine may take seconds to start a process: the kill window opens only once
        // the victim has joined the group, so a kill never lands before it could read anything.
        const joinBy = Date.now() + 30_000;
        while (Date.now() < joinBy && !(await joined(victimName))) await new Promise((r) => setTimeout(r, 20));
        // Kill at a different moment each time: as soon as the victim holds entries it has
        // read but not yet acknowledged (mid-batch), or after a random delay.
        const deadline = Date.now() + 300 + Math.floor(Math.random() * 1500);
        let held = 0;
        while (Date.now() < deadline && (held = await heldBy(victimName)) === 0);
        await killHard(victim);
        kills++;
        if (held > 0) midBatchKills++;
        victimName = `victim-${round}-${k + 1}`;
        victim = spawnWorker(victimName);
      }
      posting = false;
      await load;

      await waitForDrained(redis, env.KEY_PREFIX, PARTITIONS, config.consumerGroup, 60_000);
      const totals = await fleetTotals(redis, env.KEY_PREFIX, PARTITIONS);
      const perNode = await perNodeCounts(redis, env.KEY_PREFIX, PARTITIONS, NODES);
      expect(totals.samples).toBe(sent);
      expect(totals.cpuSeconds).toBeCloseTo(cpuSeconds, 3);
      for (const node of NODES) expect(perNode.get(node)).toBe(sentPerNode.get(node) ?? 0);

      await Promise.all([...survivors, victim].map(killHard));
      await ingest.close();
      await redis.quit();
      return { sent, counted: totals.samples, midBatchKills, kills };
    }

    test(`when workers are killed mid-batch, every acknowledged sample is counted once (${options.rounds} rounds)`, async () => {
      let midBatch = 0;
      const report: string[] = [];
      for (let round = 0; round < options.rounds; round++) {
        const result = await runScenario(round);
        midBatch += result.midBatchKills;
        report.push(
          `round ${round}: sent ${result.sent}, counted ${result.counted}, kills ${result.kills} (${result.midBatchKills} mid-batch)`,
        );
      }
      console.log(report.join('\n'));
      // The kills must really land while the victim held un-acknowledged entries.
      expect(midBatch).toBeGreaterThan(0);
    }, 180_000);
  });
}

/**
 * Starts a private Redis Cluster on free ports (for `npm run start:cluster` and the cluster
 * tests): `redis-server --cluster-enabled yes` per node, joined by
 * `redis-cli --cluster create`, masters first, one replica each.
 */
import { spawn } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from './free-port';
import { REDIS_LOG_FILE, startPrivateRedis, type PrivateRedis } from './private-redis';

/** A cluster node's bus listens on its port + 10000. */
const CLUSTER_BUS_OFFSET = 10_000;

export interface PrivateClusterOptions {
  masters?: number;
  replicasPerMaster?: number;
  appendOnly?: boolean;
}

export interface PrivateCluster {
  /** Every node, masters first as created (a failover changes who is master). */
  nodes: PrivateRedis[];
  /** `host:port,...` of every node: the value of REDIS_CLUSTER_NODES. */
  seeds: string;
  /** Waits until every running node reports cluster_state:ok and agrees on the masters. */
  waitUntilHealthy(timeoutMs?: number): Promise<void>;
  /** Runs redis-cli against one node (e.g. ['cluster', 'nodes']), answering its output. */
  cli(port: number, args: string[]): Promise<string>;
  destroy(): Promise<void>;
}

export function runRedisCli(args: string[], timeoutMs = 60_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('redis-cli', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', reject);
    // 'close', not 'exit': 'exit' may come before the last of the output has been read.
    child.once('close', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(output);
      else reject(new Error(`redis-cli ${args.join(' ')} exited with ${code}: ${output.trim().slice(-500)}`));
    });
  });
}

export async function startPrivateCluster(options: PrivateClusterOptions = {}): Promise<PrivateCluster> {
  const masters = options.masters ?? 3;
  const replicas = options.replicasPerMaster ?? 1;
  const count = masters * (1 + replicas);
  const nodes: PrivateRedis[] = [];
  try {
    for (let i = 0; i < count; i += 1) {
      const port = await freePort([CLUSTER_BUS_OFFSET]);
      nodes.push(
        await startPrivateRedis({
          port,
          appendOnly: options.appendOnly ?? false,
          extraArgs: [
            '--cluster-enabled',
            'yes',
            '--cluster-config-file',
            `nodes-${port}.conf`,
            // Fast failover for tests and local trials; production keeps its own setting.
            '--cluster-node-timeout',
            '2000',
            // A replica with stale data still takes over: the tests measure what is lost.
            '--cluster-replica-validity-factor',
            '0',
          ],
        }),
      );
    }
    const addresses = nodes.map((node) => `127.0.0.1:${node.port}`);
    if (masters >= 3) await runRedisCli(['--cluster', 'create', ...addresses, '--cluster-replicas', String(replicas), '--cluster-yes']);
    else await createSmallCluster(nodes, masters);
    const cluster: PrivateCluster = {
      nodes,
      seeds: addresses.join(','),
      cli: (port, args) => runRedisCli(['-p', String(port), ...args]),
      waitUntilHealthy: (timeoutMs = 30_000) => waitUntilHealthy(nodes, masters, timeoutMs),
      destroy: async () => {
        await Promise.all(nodes.map((node) => node.destroy()));
      },
    };
    await cluster.waitUntilHealthy();
    return cluster;
  } catch (error) {
    await Promise.all(nodes.map((node) => node.destroy().catch(() => undefined)));
    for (const node of nodes) rmSync(node.dir, { recursive: true, force: true });
    throw error;
  }
}

/**
 * `redis-cli --cluster create` wants 3 masters at least; a smaller cluster (the 1-master
 * baseline of the scaling benchmark) is assembled by hand: the masters share the slots
 * evenly, meet, and each replica follows its master.
 */
async function createSmallCluster(nodes: readonly PrivateRedis[], masters: number): Promise<void> {
  if (masters < 1) throw new Error(`a cluster needs at least 1 master, got ${masters}`);
  const cli = (node: PrivateRedis, args: string[]) => runRedisCli(['-p', String(node.port), ...args]);
  // A node learns its own address from the nodes that meet it; a lone master would announce
  // none in CLUSTER SLOTS, and clients follow those addresses.
  for (const node of nodes) await cli(node, ['config', 'set', 'cluster-announce-ip', '127.0.0.1']);
  const ids = await Promise.all(nodes.map(async (node) => (await cli(node, ['cluster', 'myid'])).trim()));
  for (let m = 0; m < masters; m += 1) {
    const first = Math.floor((16384 * m) / masters);
    const last = Math.floor((16384 * (m + 1)) / masters) - 1;
    await cli(nodes[m]!, ['cluster', 'addslotsrange', String(first), String(last)]);
  }
  for (const node of nodes.slice(1)) await cli(node, ['cluster', 'meet', '127.0.0.1', String(nodes[0]!.port)]);
  for (let r = masters; r < nodes.length; r += 1) {
    const master = ids[(r - masters) % masters]!;
    // A replica can follow its master only once it has heard of it through the meeting.
    const deadline = Date.now() + 10_000;
    while (!(await cli(nodes[r]!, ['cluster', 'nodes'])).includes(master)) {
      if (Date.now() > deadline) throw new Error(`node ${nodes[r]!.port} did not learn of master ${master} within 10 s`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await cli(nodes[r]!, ['cluster', 'replicate', master]);
  }
}

/** The last lines of every node's log, for an error that has to say why the cluster did not form. */
function logTails(nodes: readonly PrivateRedis[], lines = 8): string {
  return nodes
    .map((node) => {
      let log: string;
      try {
        log = readFileSync(join(node.dir, REDIS_LOG_FILE), 'utf8');
      } catch (error) {
        log = String(error);
      }
      return `--- node ${node.port}:\n${log.trimEnd().split('\n').slice(-lines).join('\n')}`;
    })
    .join('\n');
}

function isRunning(node: PrivateRedis): boolean {
  return node.process.exitCode === null && node.process.signalCode === null;
}

async function waitUntilHealthy(nodes: readonly PrivateRedis[], masters: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    const running = nodes.filter(isRunning);
    const views = await Promise.all(
      running.map(async (node) => {
        try {
          const info = await runRedisCli(['-p', String(node.port), 'cluster', 'info'], 5000);
          const shape = await runRedisCli(['-p', String(node.port), 'cluster', 'nodes'], 5000);
          const lines = shape.split('\n').filter((line) => !line.includes('fail'));
          const liveMasters = lines
            .filter((line) => line.includes('master') && /\d+-\d+|\s\d+$/.test(line.trim()))
            .map((line) => line.split(' ')[0])
            .sort()
            .join(',');
          // "<replica id> -> <master id>" for every live replica this node knows of.
          const replicas = lines
            .filter((line) => line.includes('slave'))
            .map((line) => `${line.split(' ')[0]} -> ${line.split(' ')[3]}`)
            .sort()
            .join(',');
          return { ok: info.includes('cluster_state:ok'), liveMasters, replicas };
        } catch (error) {
          return { ok: false, liveMasters: String(error), replicas: '' };
        }
      }),
    );
    const agreed = new Set(views.map((view) => `${view.liveMasters}|${view.replicas}`));
    const liveMasterCount = views[0]?.liveMasters.split(',').filter(Boolean).length ?? 0;
    // Every running node that is not a master follows one, and every node knows it: a test
    // that picks "the replica of this master" finds it wherever it asks.
    const replicaCount = views[0]?.replicas.split(',').filter(Boolean).length ?? 0;
    const replicasKnown = replicaCount === running.length - masters;
    if (views.every((view) => view.ok) && agreed.size === 1 && liveMasterCount === masters && replicasKnown) return;
    last = JSON.stringify(views);
    if (Date.now() > deadline)
      throw new Error(`the private cluster did not become healthy within ${timeoutMs} ms: ${last}\n${logTails(nodes)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Who is master of what in a private Redis Cluster, as CLUSTER NODES tells it (failover tests pick their victim with it). */
import type { PrivateCluster } from '../../launcher/private-cluster';
import type { PrivateRedis } from '../../launcher/private-redis';

export interface ClusterNodeView {
  id: string;
  port: number;
  master: boolean;
  /** A replica's master; null for a master. */
  masterId: string | null;
  /** Slot ranges a master serves. */
  slots: [number, number][];
  /** Flagged fail (or pfail) by the node asked. */
  failing: boolean;
}

export function isRunning(node: PrivateRedis): boolean {
  return node.process.exitCode === null && node.process.signalCode === null;
}

/** A running node to ask. */
function anyRunning(cluster: PrivateCluster): PrivateRedis {
  const node = cluster.nodes.find(isRunning);
  if (!node) throw new Error('no node of the cluster is running');
  return node;
}

/** CLUSTER NODES as seen by a running node. */
export async function clusterNodes(cluster: PrivateCluster): Promise<ClusterNodeView[]> {
  const text = await cluster.cli(anyRunning(cluster).port, ['cluster', 'nodes']);
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      const [id, address, flags, master, , , , , ...slots] = line.trim().split(' ');
      const flagList = flags!.split(',');
      return {
        id: id!,
        port: Number(/:(\d+)@/.exec(address!)![1]),
        master: flagList.includes('master'),
        masterId: master === '-' ? null : master!,
        // Importing and migrating slots are shown in brackets: not served here.
        slots: slots
          .filter((range) => !range.startsWith('['))
          .map((range) => {
            const [start, end] = range.split('-').map(Number);
            return [start!, end ?? start!] as [number, number];
          }),
        failing: flagList.includes('fail') || flagList.includes('fail?'),
      };
    });
}

export async function slotOf(cluster: PrivateCluster, key: string): Promise<number> {
  return Number((await cluster.cli(anyRunning(cluster).port, ['cluster', 'keyslot', key])).trim());
}

/** The master serving `slot` and its replicas. */
export async function shardOfSlot(
  cluster: PrivateCluster,
  slot: number,
): Promise<{ master: ClusterNodeView; replicas: ClusterNodeView[] }> {
  const nodes = await clusterNodes(cluster);
  const master = nodes.find((node) => node.master && !node.failing && node.slots.some(([start, end]) => slot >= start && slot <= end));
  if (!master) throw new Error(`no live master serves slot ${slot}`);
  return { master, replicas: nodes.filter((node) => node.masterId === master.id) };
}

export function nodeOnPort(cluster: PrivateCluster, port: number): PrivateRedis {
  const node = cluster.nodes.find((candidate) => candidate.port === port);
  if (!node) throw new Error(`no node of the cluster listens on ${port}`);
  return node;
}

async function poll(what: string, timeoutMs: number, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Waits until the node on `port` serves slots as a master and every running node says the cluster is ok. */
export async function waitUntilPromoted(cluster: PrivateCluster, port: number, timeoutMs = 30_000): Promise<void> {
  await poll(`the promotion of the replica on ${port}`, timeoutMs, async () => {
    const own = (await cluster.cli(port, ['cluster', 'nodes'])).split('\n').find((line) => line.includes('myself'));
    if (!own || !own.includes('master') || !/\d+-\d+|\s\d+$/.test(own.trim())) return false;
    const states = await Promise.all(cluster.nodes.filter(isRunning).map((node) => cluster.cli(node.port, ['cluster', 'info'])));
    return states.every((info) => info.includes('cluster_state:ok'));
  });
}

/** Waits until the node on `port` is a replica whose link to its master is up and synced. */
export async function waitUntilReplicating(cluster: PrivateCluster, port: number, timeoutMs = 30_000): Promise<void> {
  await poll(`the replica on ${port} catching up`, timeoutMs, async () => {
    const info = await cluster.cli(port, ['info', 'replication']);
    return info.includes('role:slave') && info.includes('master_link_status:up') && !info.includes('master_sync_in_progress:1');
  });
}

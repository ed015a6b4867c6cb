/**
 * k8s/cluster/scripts/redis-cluster-node.sh: after every node came back with a new address (every
 * pod of the StatefulSet restarted at once), the nodes.conf files name only old addresses; the
 * script resolves each node's announced name and writes its current address, so the cluster forms
 * again. Here the "old address" is one no node listens on, the names are 127.0.0.1.
 */
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startPrivateCluster, type PrivateCluster } from '../../launcher/private-cluster';
import { waitUntil, within } from '../support/wait-until';
import { exited } from '../support/worker-process';

const SCRIPT = join(__dirname, '..', '..', 'k8s', 'cluster', 'scripts', 'redis-cluster-node.sh');
const STALE_ADDRESS = '10.255.255.1';

let cluster: PrivateCluster;

beforeAll(async () => {
  cluster = await startPrivateCluster({ masters: 3, replicasPerMaster: 1, appendOnly: true });
});

afterAll(async () => {
  await cluster?.destroy();
});

function nodesConf(port: number): string {
  const node = cluster.nodes.find((n) => n.port === port)!;
  return join(node.dir, `nodes-${port}.conf`);
}

test('after every node moved, the script points nodes.conf at the current addresses and the cluster forms again', async () => {
  // Each node announces a name, as the pods do (their DNS name): here one that resolves locally.
  for (const node of cluster.nodes) await cluster.cli(node.port, ['config', 'set', 'cluster-announce-hostname', '127.0.0.1']);
  await within(
    25_000,
    'every node learning the names',
    waitUntil(async () => {
      const views = await Promise.all(cluster.nodes.map((node) => cluster.cli(node.port, ['cluster', 'nodes'])));
      return views.every((view) =>
        view
          .trim()
          .split('\n')
          .every((line) => line.split(' ')[1]?.endsWith(',127.0.0.1')),
      );
    }, 20_000),
  );
  for (const node of cluster.nodes)
    await within(5_000, `saving node ${node.port}'s nodes.conf`, cluster.cli(node.port, ['cluster', 'saveconfig']));
  // A master's SIGTERM waits up to 10 s (shutdown-timeout) for lagging replicas.
  await within(20_000, 'stopping every node', Promise.all(cluster.nodes.map((node) => node.stop())));

  // Every node "moved": its nodes.conf names only an address nothing listens on.
  for (const node of cluster.nodes) {
    const conf = nodesConf(node.port);
    writeFileSync(conf, readFileSync(conf, 'utf8').replaceAll('127.0.0.1:', `${STALE_ADDRESS}:`));
    expect(readFileSync(conf, 'utf8')).not.toMatch(/127\.0\.0\.1:/);
  }

  for (const node of cluster.nodes) {
    // `--version` in place of the server's arguments: the script rewrites, then execs redis-server, which prints and exits.
    const child = spawn('sh', [SCRIPT, '--version'], {
      env: { ...process.env, REDIS_NODES_CONF: nodesConf(node.port), POD_IP: '127.0.0.1', REDIS_RESOLVE_SECONDS: '0' },
      stdio: 'ignore',
    });
    expect(await within(5_000, `the script for node ${node.port}`, exited(child))).toEqual({ code: 0, signal: null });
    const lines = readFileSync(nodesConf(node.port), 'utf8').trim().split('\n');
    expect(lines.filter((line) => !line.startsWith('vars')).map((line) => line.split(' ')[1]?.split(':')[0])).toEqual(
      Array(cluster.nodes.length).fill('127.0.0.1'),
    );
  }

  for (const node of cluster.nodes) await within(12_000, `restarting node ${node.port}`, node.restart());
  // A slow machine may need a failover or two before the cluster settles: time for those.
  await within(65_000, 'the cluster forming again', cluster.waitUntilHealthy(60_000));
  // Every step above is bounded, and the bounds add up to less than this: a failure names its step.
}, 300_000);

test('a node whose name does not resolve keeps its old address, and the others are still rewritten', async () => {
  const [node] = cluster.nodes;
  const conf = nodesConf(node!.port);
  await node!.stop();
  // Every line names an old address and a name; one peer's name resolves nowhere.
  const lines = readFileSync(conf, 'utf8').trim().split('\n');
  const unresolvable = lines.findIndex((line) => !line.startsWith('vars') && !line.includes('myself'));
  const moved = lines.map((line, i) => {
    if (line.startsWith('vars')) return line;
    const fields = line.split(' ');
    const coordinates = fields[1]!.split(',')[0]!;
    fields[1] = `${STALE_ADDRESS}${coordinates.slice(coordinates.lastIndexOf(':'))},${i === unresolvable ? 'no-such-host.invalid' : '127.0.0.1'}`;
    return fields.join(' ');
  });
  writeFileSync(conf, `${moved.join('\n')}\n`);
  const child = spawn('sh', [SCRIPT, '--version'], {
    env: { ...process.env, REDIS_NODES_CONF: conf, POD_IP: '127.0.0.1', REDIS_RESOLVE_SECONDS: '0' },
    stdio: 'ignore',
  });
  expect(await exited(child)).toEqual({ code: 0, signal: null });
  const addresses = readFileSync(conf, 'utf8')
    .trim()
    .split('\n')
    .map((line) => (line.startsWith('vars') ? 'vars' : line.split(' ')[1]?.split(':')[0]));
  expect(addresses[unresolvable]).toBe(STALE_ADDRESS);
  expect(addresses.filter((address) => address === '127.0.0.1')).toHaveLength(cluster.nodes.length - 1);
});

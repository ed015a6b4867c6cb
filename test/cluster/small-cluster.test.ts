/** The launcher's clusters below redis-cli's 3-master minimum: the 1-master baseline of the scaling benchmark. */
import { startPrivateCluster } from '../../launcher/private-cluster';

function field(info: string, name: string): string | undefined {
  return new RegExp(`^${name}:(\\S+)`, 'm').exec(info)?.[1];
}

test.each([
  [1, 0],
  [1, 1],
  [2, 1],
])('%i master(s) with %i replica(s) each serve every slot', async (masters, replicasPerMaster) => {
  const cluster = await startPrivateCluster({ masters, replicasPerMaster });
  try {
    expect(cluster.nodes).toHaveLength(masters * (1 + replicasPerMaster));
    for (const node of cluster.nodes) {
      const info = await cluster.cli(node.port, ['cluster', 'info']);
      expect({
        state: field(info, 'cluster_state'),
        slots: field(info, 'cluster_slots_assigned'),
        size: field(info, 'cluster_size'),
      }).toEqual({ state: 'ok', slots: '16384', size: String(masters) });
    }
    // Clients follow the addresses CLUSTER SLOTS gives: a node no other node has met knows no address of its own.
    const slots = await cluster.cli(cluster.nodes[0]!.port, ['cluster', 'slots']);
    for (const master of cluster.nodes.slice(0, masters)) expect(slots).toContain(`127.0.0.1\n${master.port}\n`);
    const replicas = (await cluster.cli(cluster.nodes[0]!.port, ['cluster', 'nodes'])).split('\n').filter((line) => line.includes('slave'));
    expect(replicas).toHaveLength(masters * replicasPerMaster);
  } finally {
    await cluster.destroy();
  }
});

test('a cluster without masters is refused with a clear error', async () => {
  await expect(startPrivateCluster({ masters: 0, replicasPerMaster: 0 })).rejects.toThrow('a cluster needs at least 1 master, got 0');
});

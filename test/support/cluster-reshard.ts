/**
 * Moves hash slots between the masters of a live Redis Cluster, one slot at a time, as
 * `redis-cli --cluster reshard` does (CLUSTER SETSLOT IMPORTING / MIGRATING, MIGRATE ... KEYS
 * in chunks, CLUSTER SETSLOT NODE on every master), but with a hook between the chunks so a
 * test can let its load run against a half-moved slot: that is when multi-key scripts meet
 * TRYAGAIN and single-key commands ASK.
 */
import Redis from 'ioredis';

export interface ClusterMaster {
  id: string;
  host: string;
  port: number;
}

export interface SlotMove {
  slot: number;
  from: string;
  to: string;
  /** Keys MIGRATE carried over. */
  keys: number;
  /** MIGRATE calls (chunks). */
  chunks: number;
}

export interface MoveOptions {
  /** Keys per MIGRATE call: small chunks keep the slot half-moved for longer. */
  keysPerMigrate?: number;
  /** Runs after each chunk while the slot is half-moved (e.g. waits until the load made progress). */
  betweenChunks?: (move: SlotMove) => Promise<void>;
  /** MIGRATE's own timeout for one chunk. */
  migrateTimeoutMs?: number;
}

/** `<id> <ip:port@bus> <flags> ... <slots...>`: the masters that are up (CLUSTER NODES). */
export function parseMasters(clusterNodes: string): ClusterMaster[] {
  return clusterNodes
    .split('\n')
    .map((line) => line.trim().split(' '))
    .filter((fields) => fields.length >= 8 && fields[2]!.split(',').includes('master') && !fields[2]!.includes('fail'))
    .map((fields) => {
      const address = fields[1]!.split('@')[0]!;
      const colon = address.lastIndexOf(':');
      return { id: fields[0]!, host: address.slice(0, colon), port: Number(address.slice(colon + 1)) };
    });
}

export class SlotMover {
  private readonly connections = new Map<string, Redis>();

  private constructor(readonly masters: readonly ClusterMaster[]) {}

  /** Reads the masters from any node (`host:port`) of the cluster. */
  static async connect(seed: string): Promise<SlotMover> {
    const [host, port] = seed.split(':');
    const probe = new Redis({ host, port: Number(port), lazyConnect: true, maxRetriesPerRequest: 1 });
    try {
      await probe.connect();
      const masters = parseMasters(String(await probe.cluster('NODES')));
      if (masters.length < 2) throw new Error(`a slot can only move between masters; the cluster at ${seed} has ${masters.length}`);
      return new SlotMover(masters);
    } finally {
      probe.disconnect();
    }
  }

  private connection(master: ClusterMaster): Redis {
    let connection = this.connections.get(master.id);
    if (!connection) {
      connection = new Redis({ host: master.host, port: master.port, maxRetriesPerRequest: 1, connectionName: 'slot-mover' });
      connection.on('error', () => undefined);
      this.connections.set(master.id, connection);
    }
    return connection;
  }

  private master(id: string): ClusterMaster {
    const master = this.masters.find((m) => m.id === id);
    if (!master) throw new Error(`no master ${id} in this cluster`);
    return master;
  }

  /** The hash slot of a key (CLUSTER KEYSLOT: Redis's own answer, hash tags included). */
  async slotOf(key: string): Promise<number> {
    return Number(await this.connection(this.masters[0]!).cluster('KEYSLOT', key));
  }

  /** The master serving `slot`, as the first master sees the cluster now. */
  async ownerOf(slot: number): Promise<ClusterMaster> {
    const ranges = await this.connection(this.masters[0]!).cluster('SLOTS');
    const owner = ranges.find(([first, last]) => slot >= first && slot <= last)?.[2]?.[2];
    if (owner === undefined) throw new Error(`slot ${slot} is not served by any master`);
    return this.master(owner);
  }

  /** Keys in `slot` now (CLUSTER COUNTKEYSINSLOT on its master). */
  async keysIn(slot: number): Promise<number> {
    return Number(await this.connection(await this.ownerOf(slot)).cluster('COUNTKEYSINSLOT', slot));
  }

  /** Another master than the one serving `slot`: the next one in CLUSTER NODES order. */
  async nextOwnerFor(slot: number): Promise<ClusterMaster> {
    const owner = await this.ownerOf(slot);
    const index = this.masters.findIndex((m) => m.id === owner.id);
    return this.masters[(index + 1) % this.masters.length]!;
  }

  /**
   * Moves `slot` to master `toId` with its keys. The order is the one Redis documents: the
   * target imports before the source migrates (so an ASK always finds an importing target),
   * and the target learns it owns the slot before the source and the other masters do.
   */
  async moveSlot(slot: number, toId: string, options: MoveOptions = {}): Promise<SlotMove> {
    const keysPerMigrate = options.keysPerMigrate ?? 100;
    if (!Number.isInteger(slot) || slot < 0 || slot > 16383) throw new Error(`slot must be an integer 0..16383, got ${slot}`);
    const source = await this.ownerOf(slot);
    const target = this.master(toId);
    if (source.id === target.id) throw new Error(`slot ${slot} is already on ${target.host}:${target.port}`);
    const from = this.connection(source);
    const to = this.connection(target);
    const move: SlotMove = { slot, from: source.id, to: target.id, keys: 0, chunks: 0 };
    await to.cluster('SETSLOT', slot, 'IMPORTING', source.id);
    await from.cluster('SETSLOT', slot, 'MIGRATING', target.id);
    for (;;) {
      const keys = (await from.cluster('GETKEYSINSLOT', slot, keysPerMigrate)) as string[];
      if (keys.length === 0) break;
      // No REPLACE: a key on both sides would be a defect (a write that went to both), not something to paper over.
      await from.migrate(target.host, target.port, '', 0, options.migrateTimeoutMs ?? 10_000, 'KEYS', ...keys);
      move.keys += keys.length;
      move.chunks += 1;
      await options.betweenChunks?.(move);
    }
    await to.cluster('SETSLOT', slot, 'NODE', target.id);
    await from.cluster('SETSLOT', slot, 'NODE', target.id);
    for (const other of this.masters.filter((m) => m.id !== source.id && m.id !== target.id)) {
      await this.connection(other).cluster('SETSLOT', slot, 'NODE', target.id);
    }
    return move;
  }

  /** Error replies each master sent since it started (INFO errorstats): ASK, TRYAGAIN, MOVED, ... summed over masters. */
  async errorReplies(): Promise<Record<string, number>> {
    const totals: Record<string, number> = {};
    for (const master of this.masters) {
      const info = await this.connection(master).info('errorstats');
      for (const match of info.matchAll(/^errorstat_([A-Z]+):count=(\d+)/gm))
        totals[match[1]!] = (totals[match[1]!] ?? 0) + Number(match[2]);
    }
    return totals;
  }

  close(): void {
    for (const connection of this.connections.values()) connection.disconnect();
    this.connections.clear();
  }
}

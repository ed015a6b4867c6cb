/**
 * `npm run bench:slot-move`: what moving a slot costs when it holds a large fleet's minute
 * hashes. On a Redis Cluster a partition's keys share one slot, and `redis-cli --cluster
 * reshard` moves a slot's keys with MIGRATE, which serializes each key whole while the source
 * master serves nobody else, and the target deserializes it just as whole. A partition's
 * node seconds are one hash per minute holding every node of the partition, so that hash is
 * the largest key a slot move meets.
 *
 * A private 3-master cluster; per size, `--keys` minute hashes filled as the apply stores
 * them (field `<second>:<node>`, the bucket codec's 80 bytes with extremes, six samples per
 * node and minute: a node posting every 10 s); then the slot moved to another master by
 * MIGRATE, `keys-per-migrate` keys per call (redis-cli's `--cluster-pipeline`, default 10).
 * Meanwhile a client PINGs the source master back to back: its longest wait is what every
 * client of that master (ingest, workers, queries) waits at worst.
 */
import Redis from 'ioredis';
import { Command, Option } from 'commander';
import { startPrivateCluster } from '../launcher/private-cluster';
import { encodeBucket, sampleBucket } from '../shared/store/bucket-codec';
import { nodeSecondField, nodeSecondsChunkOf, partitionKeys } from '../shared/store/keys';
import { describeMachine } from './machine';
import { fixed } from './fixed-digits';

const SAMPLES_PER_NODE_AND_MINUTE = 6;
const log = (line: string) => process.stderr.write(`[bench:slot-move] ${line}\n`);

interface MoveResult {
  fields: number;
  keysPerMigrate: number;
  bytesPerKey: number;
  /** Wall time of each MIGRATE call (the source master is blocked for it). */
  migrateMs: number[];
  /** The target's RESTORE-ASKING time per key, from its slow log. */
  restoreMs: number[];
  /** The longest a PING to the source master waited during the move. */
  longestPingMs: number;
}

/** Fills `key` with `fields` node-second buckets of one minute, 1,000 fields per HSET. */
async function fillMinuteHash(client: Redis, key: string, firstBucket: number, fields: number): Promise<void> {
  const value = encodeBucket(sampleBucket(42.5, 61, 10, firstBucket * 1000, true));
  const nodes = Math.ceil(fields / SAMPLES_PER_NODE_AND_MINUTE);
  for (let from = 0; from < fields; from += 1000) {
    const args: (string | Buffer)[] = [];
    for (let f = from; f < Math.min(fields, from + 1000); f++) {
      const node = f % nodes;
      const second = (Math.floor(f / nodes) * 10 + (node % 10)) % 60;
      args.push(nodeSecondField(firstBucket + second, `node-${String(node).padStart(6, '0')}.dc1.example.com`), value);
    }
    await client.hset(key, ...args);
  }
}

/** PINGs back to back until stopped; answers the longest wait. */
function pingProbe(port: number): { stop(): Promise<number> } {
  const client = new Redis({ port, enableAutoPipelining: false, maxRetriesPerRequest: 1 });
  client.on('error', () => undefined);
  let running = true;
  let longest = 0;
  const loop = (async () => {
    while (running) {
      const started = process.hrtime.bigint();
      const answered = await client.ping().then(
        () => true,
        () => false,
      );
      if (answered) longest = Math.max(longest, Number(process.hrtime.bigint() - started) / 1e6);
      else await new Promise((resolve) => setTimeout(resolve, 10));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      client.disconnect();
      return longest;
    },
  };
}

async function measure(ports: number[], fields: number, keys: number, keysPerMigrate: number): Promise<MoveResult> {
  const seed = new Redis({ port: ports[0] });
  // Each size in a slot of its own: the partition tag of partition `fields % 97` of 97.
  const partition = partitionKeys('slotmove', fields % 97, 97);
  const minute = nodeSecondsChunkOf(Math.floor(Date.now() / 1000));
  const names = Array.from({ length: keys }, (_, i) => partition.nodeSeconds(minute - i));
  const slot = Number(await seed.cluster('KEYSLOT', names[0]!));
  const ranges = await seed.cluster('SLOTS');
  const sourcePort = ranges.find(([first, last]) => slot >= first && slot <= last)![2]![1];
  const targetPort = ports.find((port) => port !== sourcePort)!;
  seed.disconnect();
  const source = new Redis({ port: sourcePort });
  const target = new Redis({ port: targetPort });
  try {
    for (const [i, name] of names.entries()) await fillMinuteHash(source, name, (minute - i) * 60, fields);
    const bytesPerKey = Number(await source.memory('USAGE', names[0]!));
    const sourceId = String(await source.cluster('MYID'));
    const targetId = String(await target.cluster('MYID'));
    await target.config('SET', 'slowlog-log-slower-than', '0');
    await target.slowlog('RESET');
    await target.cluster('SETSLOT', slot, 'IMPORTING', sourceId);
    await source.cluster('SETSLOT', slot, 'MIGRATING', targetId);
    const probe = pingProbe(sourcePort);
    const migrateMs: number[] = [];
    let longestPingMs = NaN;
    try {
      for (let from = 0; from < names.length; from += keysPerMigrate) {
        const started = process.hrtime.bigint();
        await source.migrate('127.0.0.1', targetPort, '', 0, 120_000, 'KEYS', ...names.slice(from, from + keysPerMigrate));
        migrateMs.push(Number(process.hrtime.bigint() - started) / 1e6);
      }
    } finally {
      longestPingMs = await probe.stop();
    }
    for (const node of [target, source]) await node.cluster('SETSLOT', slot, 'NODE', targetId);
    const slowlog = (await target.slowlog('GET', 1000)) as [number, number, number, string[]][];
    const restoreMs = slowlog.filter((entry) => String(entry[3][0]).toLowerCase() === 'restore-asking').map((entry) => entry[2] / 1000);
    await target.config('SET', 'slowlog-log-slower-than', '10000');
    await target.del(...names);
    return { fields, keysPerMigrate, bytesPerKey, migrateMs, restoreMs, longestPingMs };
  } finally {
    source.disconnect();
    target.disconnect();
  }
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? NaN;

async function main(): Promise<void> {
  const program = new Command('bench:slot-move')
    .description('MIGRATE cost of a partition slot holding minute hashes of a large fleet')
    .addOption(new Option('--fields <list>', 'fields per minute hash (nodes of a partition x 6)').default('15000,50000,150000'))
    .addOption(new Option('--keys <n>', 'minute hashes in the slot').default(10).argParser(Number))
    .addOption(new Option('--keys-per-migrate <list>', 'keys per MIGRATE call (redis-cli --cluster-pipeline)').default('1,10'))
    .addOption(new Option('--node-timeout-ms <n>', 'cluster-node-timeout (k8s/cluster/ sets 5000)').default(5000).argParser(Number))
    .parse(process.argv);
  const options = program.opts<{ fields: string; keys: number; keysPerMigrate: string; nodeTimeoutMs: number }>();
  const sizes = options.fields.split(',').map(Number);
  const pipelines = options.keysPerMigrate.split(',').map(Number);
  const cluster = await startPrivateCluster({ masters: 3, replicasPerMaster: 0 });
  const results: MoveResult[] = [];
  let failure: string | undefined;
  try {
    const ports = cluster.nodes.map((node) => node.port);
    // The node timeout of k8s/cluster/: a master blocked longer is taken for failed.
    for (const port of ports) await cluster.cli(port, ['config', 'set', 'cluster-node-timeout', String(options.nodeTimeoutMs)]);
    measuring: for (const fields of sizes) {
      for (const keysPerMigrate of pipelines) {
        log(`${options.keys} minute hashes of ${fields} fields, ${keysPerMigrate} per MIGRATE`);
        try {
          results.push(await measure(ports, fields, options.keys, keysPerMigrate));
        } catch (error) {
          failure = `${options.keys} hashes of ${fields} fields, ${keysPerMigrate} per MIGRATE: ${(error as Error).message}`;
          break measuring;
        }
      }
    }
  } finally {
    await cluster.destroy();
  }
  const machine = describeMachine();
  process.stdout.write(
    [
      `# Slot move cost of ${new Date().toISOString()}`,
      '',
      `Command: \`npm run bench:slot-move -- --fields ${options.fields} --keys ${options.keys} --keys-per-migrate ${options.keysPerMigrate} --node-timeout-ms ${options.nodeTimeoutMs}\``,
      '',
      ...Object.entries(machine).map(([k, v]) => `- ${k}: ${v}`),
      '',
      '| fields per minute hash (nodes at 10 s) | bytes per hash | keys per MIGRATE | MIGRATE call, median / max (source blocked) | RESTORE per key on the target, median | longest PING to the source meanwhile |',
      '|---|---|---|---|---|---|',
      ...results.map(
        (r) =>
          `| ${fixed(r.fields, 0)} (${fixed(r.fields / SAMPLES_PER_NODE_AND_MINUTE, 0)}) | ${fixed(r.bytesPerKey / 1e6, 1)} MB | ${r.keysPerMigrate} | ` +
          `${fixed(median(r.migrateMs), 0)} / ${fixed(Math.max(...r.migrateMs), 0)} ms | ${fixed(median(r.restoreMs), 0)} ms | ${fixed(r.longestPingMs, 0)} ms |`,
      ),
      '',
      ...(failure ? [`Stopped at ${failure}`, ''] : []),
    ].join('\n'),
  );
}

main().then(
  () => process.exit(0),
  (error: Error) => {
    process.stderr.write(`bench:slot-move: ${error.message}\n`);
    process.exit(1);
  },
);

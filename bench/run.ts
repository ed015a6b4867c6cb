/**
 * `npm run bench`: starts a private Redis, ingest and workers per configuration, measures every
 * figure of docs/BENCHMARKS.md next to its baseline, and prints the results as Markdown.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { Command, Option } from 'commander';
import { renderMarkdown } from './report';
import { renderAuthCost, runAuthCost, type AuthCostResult } from './auth-cost';
import { renderReplicaWaitCost, runReplicaWaitCost, type ReplicaWaitCostResult } from './replica-wait-cost';
import { renderClusterScaling, runClusterScaling, type ClusterScalingResult } from './cluster-scaling';
import { runConfiguration, type BenchConfig, type ConfigResult } from './configuration';
import { waitForQuietMachine } from './cpu-share';
import { describeMachine } from './machine';
import { ROOT } from './services';
import { SERVICE_NODE_FLAGS } from '../launcher/service-node-flags';
import { requireTools } from './tools';
import { parseRealtime, REALTIME_PRIORITY, REALTIME_PROCESSES, REDIS_REALTIME_PRIORITY } from './realtime';

const CONFIGS: Record<string, BenchConfig> = {
  base: { label: '1 worker, 1,000 nodes', workers: 1, nodes: 1000, queryNodes: 10_000 },
  workers2: { label: '2 workers, 1,000 nodes', workers: 2, nodes: 1000, queryNodes: 10_000 },
  nodes100k: { label: '1 worker, 100,000 nodes', workers: 1, nodes: 100_000, queryNodes: 100_000 },
};

async function main(): Promise<void> {
  const program = new Command('bench')
    .description('node-aggregation benchmark: every figure beside its baseline, on this machine')
    .addOption(new Option('--seconds <n>', 'length of each measured phase').default(10).argParser(Number))
    .addOption(
      new Option(
        '--quiet-wait <seconds>',
        'before each configuration, wait up to this long for the machine to be under 10 % busy (0 = do not wait)',
      )
        .default(300)
        .argParser(Number),
    )
    .addOption(
      new Option(
        '--configs <list>',
        `configurations to run (${Object.keys(CONFIGS).join(', ')}), "auth": single POSTs with a token vs without, ` +
          `"replicas": single POSTs and batches with REDIS_WAIT_REPLICAS=1 vs 0 on a master with one replica, ` +
          `and "cluster": the same load on Redis Clusters of --cluster-masters masters`,
      ).default([...Object.keys(CONFIGS), 'auth', 'cluster'].join(',')),
    )
    .addOption(new Option('--cluster-masters <list>', 'master counts the "cluster" configuration compares').default('1,3'))
    .addOption(
      new Option('--cluster-partitions <n>', 'STREAM_PARTITIONS of the "cluster" configuration (a multiple of every master count)')
        .default(6)
        .argParser(Number),
    )
    .addOption(
      new Option('--services-dist <dir>', "the build whose ingest and worker are measured (another checkout's dist/; default this one)"),
    )
    .addOption(
      new Option(
        '--ingest-node-flags <flags>',
        `Node flags of ingest, space-separated ('' for none; default: as deployed, "${SERVICE_NODE_FLAGS.ingest.join(' ')}")`,
      ),
    )
    .addOption(
      new Option(
        '--worker-node-flags <flags>',
        `Node flags of the workers, space-separated ('' for none; default: as deployed, "${SERVICE_NODE_FLAGS.worker.join(' ')}")`,
      ),
    )
    .addOption(
      new Option(
        '--realtime <list>',
        `the configurations' processes (${REALTIME_PROCESSES.join(', ')}) to run under the real-time FIFO scheduler ` +
          `(chrt -f, every thread: Node ${REALTIME_PRIORITY}, Redis ${REDIS_REALTIME_PRIORITY}; needs root), the load tools and baselines at normal priority`,
      ).default(''),
    )
    .addOption(
      new Option(
        '--load-maximum <samples/s>',
        "the rate the freshness and query loads are half, a tenth and a quarter of (default: each run's batch figure from Node senders)",
      ).argParser(Number),
    )
    .parse(process.argv);
  const options = program.opts<{
    seconds: number;
    configs: string;
    quietWait: number;
    servicesDist?: string;
    ingestNodeFlags?: string;
    workerNodeFlags?: string;
    clusterMasters: string;
    clusterPartitions: number;
    realtime: string;
    loadMaximum?: number;
  }>();
  requireTools();
  const names = options.configs.split(',').map((name) => name.trim());
  const withAuth = names.includes('auth');
  const withReplicas = names.includes('replicas');
  const withCluster = names.includes('cluster');
  const clusterMasters = options.clusterMasters.split(',').map((count) => {
    const masters = Number(count.trim());
    if (!Number.isInteger(masters) || masters < 1) throw new Error(`--cluster-masters wants positive whole numbers, got "${count}"`);
    return masters;
  });
  const chosen = names
    .filter((name) => name !== 'auth' && name !== 'replicas' && name !== 'cluster')
    .map((name) => {
      const config = CONFIGS[name];
      if (!config)
        throw new Error(`unknown configuration "${name}"; choose from ${Object.keys(CONFIGS).join(', ')}, auth, replicas, cluster`);
      return config;
    });
  const flagsOf = (given: string | undefined, deployed: readonly string[]) =>
    given === undefined ? deployed : given.split(/\s+/).filter((flag) => flag !== '');
  const serviceNodeFlags = {
    ingest: flagsOf(options.ingestNodeFlags, SERVICE_NODE_FLAGS.ingest),
    worker: flagsOf(options.workerNodeFlags, SERVICE_NODE_FLAGS.worker),
  };
  const realtime = parseRealtime(options.realtime);
  if (options.loadMaximum !== undefined && !(options.loadMaximum > 0))
    throw new Error(`--load-maximum wants samples per second above 0, got "${options.loadMaximum}"`);
  const machine = describeMachine();
  const started = new Date().toISOString();
  const results: ConfigResult[] = [];
  for (const config of chosen) {
    if (options.quietWait > 0) {
      const busy = await waitForQuietMachine(10, options.quietWait * 1000);
      if (busy !== null && busy >= 10)
        process.stderr.write(`[bench] the machine is still ${busy} % busy with other work; measuring anyway (see the CPU rows)\n`);
    }
    results.push(
      await runConfiguration(
        config,
        options.seconds,
        { servicesDist: options.servicesDist, serviceNodeFlags, realtime },
        options.loadMaximum,
      ),
    );
  }
  let auth: AuthCostResult | undefined;
  if (withAuth) {
    if (options.quietWait > 0) await waitForQuietMachine(10, options.quietWait * 1000);
    auth = await runAuthCost(options.seconds);
  }
  let replicas: ReplicaWaitCostResult | undefined;
  if (withReplicas) {
    if (options.quietWait > 0) await waitForQuietMachine(10, options.quietWait * 1000);
    replicas = await runReplicaWaitCost(options.seconds);
  }
  const cluster: ClusterScalingResult[] = [];
  for (const masters of withCluster ? clusterMasters : []) {
    if (options.quietWait > 0) await waitForQuietMachine(10, options.quietWait * 1000);
    cluster.push(await runClusterScaling({ masters, partitions: options.clusterPartitions, workers: 2, seconds: options.seconds }));
  }
  const output = {
    started,
    seconds: options.seconds,
    machine,
    serviceNodeFlags,
    realtime,
    loadMaximum: options.loadMaximum,
    results,
    auth,
    replicas,
    cluster,
  };
  mkdirSync(join(ROOT, 'dist', 'bench'), { recursive: true });
  writeFileSync(join(ROOT, 'dist', 'bench', 'results.json'), JSON.stringify(output, null, 2));
  if (results.length > 0) process.stdout.write(renderMarkdown(output));
  if (results.length === 0 && (auth || replicas || cluster.length > 0)) {
    const machineLines = Object.entries(machine).map(([k, v]) => `- ${k}: ${v}`);
    process.stdout.write(`## Run of ${started}\n\n${machineLines.join('\n')}\n`);
  }
  if (auth) process.stdout.write(`\n${renderAuthCost(auth)}`);
  if (replicas) process.stdout.write(`\n${renderReplicaWaitCost(replicas)}`);
  if (cluster.length > 0) process.stdout.write(`\n${renderClusterScaling(cluster, availableParallelism())}`);
  process.stderr.write(`\nraw figures: dist/bench/results.json\n`);
}

main().then(
  () => process.exit(0),
  (error: Error) => {
    process.stderr.write(`bench: ${error.message}\n`);
    process.exit(1);
  },
);

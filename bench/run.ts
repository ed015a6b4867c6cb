/**
 * `npm run bench`: starts a private Redis, ingest and workers per configuration, measures every
 * figure of docs/BENCHMARKS.md next to its baseline, and prints the results as Markdown.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command, Option } from 'commander';
import { renderMarkdown } from './report';
import { renderAuthCost, runAuthCost, type AuthCostResult } from './auth-cost';
import { renderReplicaWaitCost, runReplicaWaitCost, type ReplicaWaitCostResult } from './replica-wait-cost';
import { runConfiguration, type BenchConfig, type ConfigResult } from './configuration';
import { waitForQuietMachine } from './cpu-share';
import { describeMachine } from './machine';
import { ROOT } from './services';
import { requireTools } from './tools';

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
          `and "replicas": single POSTs and batches with REDIS_WAIT_REPLICAS=1 vs 0 on a master with one replica`,
      ).default([...Object.keys(CONFIGS), 'auth'].join(',')),
    )
    .addOption(
      new Option('--services-dist <dir>', "the build whose ingest and worker are measured (another checkout's dist/; default this one)"),
    )
    .parse(process.argv);
  const options = program.opts<{ seconds: number; configs: string; quietWait: number; servicesDist?: string }>();
  requireTools();
  const names = options.configs.split(',').map((name) => name.trim());
  const withAuth = names.includes('auth');
  const withReplicas = names.includes('replicas');
  const chosen = names
    .filter((name) => name !== 'auth' && name !== 'replicas')
    .map((name) => {
      const config = CONFIGS[name];
      if (!config) throw new Error(`unknown configuration "${name}"; choose from ${Object.keys(CONFIGS).join(', ')}, auth, replicas`);
      return config;
    });
  const machine = describeMachine();
  const started = new Date().toISOString();
  const results: ConfigResult[] = [];
  for (const config of chosen) {
    if (options.quietWait > 0) {
      const busy = await waitForQuietMachine(10, options.quietWait * 1000);
      if (busy !== null && busy >= 10)
        process.stderr.write(`[bench] the machine is still ${busy} % busy with other work; measuring anyway (see the CPU rows)\n`);
    }
    results.push(await runConfiguration(config, options.seconds, { servicesDist: options.servicesDist }));
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
  const output = { started, seconds: options.seconds, machine, results, auth, replicas };
  mkdirSync(join(ROOT, 'dist', 'bench'), { recursive: true });
  writeFileSync(join(ROOT, 'dist', 'bench', 'results.json'), JSON.stringify(output, null, 2));
  if (results.length > 0) process.stdout.write(renderMarkdown(output));
  if (results.length === 0 && (auth || replicas)) {
    const machineLines = Object.entries(machine).map(([k, v]) => `- ${k}: ${v}`);
    process.stdout.write(`## Run of ${started}\n\n${machineLines.join('\n')}\n`);
  }
  if (auth) process.stdout.write(`\n${renderAuthCost(auth)}`);
  if (replicas) process.stdout.write(`\n${renderReplicaWaitCost(replicas)}`);
  process.stderr.write(`\nraw figures: dist/bench/results.json\n`);
}

main().then(
  () => process.exit(0),
  (error: Error) => {
    process.stderr.write(`bench: ${error.message}\n`);
    process.exit(1);
  },
);

/** The `nodeagg` command tree: global options, every command, and help that shows both. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { agentCommand } from './commands/agent';
import { averageCommand, processCommand, processesCommand } from './commands/analytics';
import { dlqCommand } from './commands/dlq';
import { loadCommand } from './commands/load';
import { nodeCommand, nodesCommand } from './commands/nodes';
import { partitionsCommand } from './commands/partitions';
import { postCommand } from './commands/post';
import { statusCommand } from './commands/status';
import { tokenCommand } from './commands/token';
import { addGlobalOptions } from './global-options';

/** The package's version: package.json is one folder up from the source, two from dist/. */
function packageVersion(): string {
  for (const up of ['..', '../..']) {
    try {
      const pkg = JSON.parse(readFileSync(join(__dirname, up, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'node-aggregation' && pkg.version) return pkg.version;
    } catch {
      // not at this level
    }
  }
  return 'unknown';
}

/** Settings commander copies only for `.command()`; commands added with addCommand() need them too. */
function inherit(parent: Command, child: Command): void {
  child.copyInheritedSettings(parent);
  for (const grandchild of child.commands) inherit(child, grandchild);
}

export function createProgram(): Command {
  const program = addGlobalOptions(new Command('nodeagg'))
    .description('Command line for node-aggregation: post samples, query the API, watch the pipeline, report this machine, generate load.')
    .version(packageVersion(), '-V, --version')
    .configureHelp({ showGlobalOptions: true, sortSubcommands: false })
    // One line per error: commander's message plus where to look, on the same line.
    .configureOutput({ outputError: (text, write) => write(`${text.trimEnd()} (see --help)\n`) })
    .exitOverride()
    .addHelpText(
      'after',
      '\nEnvironment: NODEAGG_URL and NODEAGG_TOKEN stand in for --url and --token.\n' +
        'Exit codes: 0 ok, 1 the service answered an error, 2 bad command line, 3 service unreachable.',
    );
  for (const command of [
    postCommand(),
    averageCommand(),
    processesCommand(),
    processCommand(),
    nodesCommand(),
    nodeCommand(),
    statusCommand(),
    dlqCommand(),
    agentCommand(),
    loadCommand(),
    partitionsCommand(),
    tokenCommand(),
  ]) {
    program.addCommand(command);
    inherit(program, command);
  }
  return program;
}

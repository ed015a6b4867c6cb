#!/usr/bin/env node
/** Entry point of the `nodeagg` executable: runs the command, prints one line on error, exits with its code. */
import { CommanderError } from 'commander';
import { CliError, EXIT } from './cli-error';
import { createProgram } from './program';

// Output piped into `head` and closed early is not an error of ours.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});

async function main(argv: string[]): Promise<number> {
  const program = createProgram();
  try {
    await program.parseAsync(argv, { from: 'user' });
    return EXIT.ok;
  } catch (caught) {
    if (caught instanceof CommanderError) {
      // Commander already printed its message (and the help hint); --help and --version exit 0.
      return caught.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    if (caught instanceof CliError) {
      process.stderr.write(`error: ${caught.message}\n`);
      return caught.exitCode;
    }
    const error = caught as Error;
    process.stderr.write(`error: unexpected failure: ${error?.message ?? String(caught)} (please report it, with the command line)\n`);
    return 1;
  }
}

void main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
  // Idle keep-alive sockets must not hold the exit; the timer itself does not keep the process up.
  setTimeout(() => process.exit(code), 2000).unref();
});

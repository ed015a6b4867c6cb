/**
 * `node dist/bench/profile-summary.js <file.cpuprofile | directory>`: the self time of a
 * `node --cpu-prof` profile by area, package and function, as Markdown tables.
 */
import { Command, Option } from 'commander';
import { profileFile, readCpuProfile, renderProfileSummary, summarizeProfile } from './cpu-profile';
import { ROOT } from './services';

function main(): void {
  const program = new Command('profile-summary')
    .description('self time of a V8 CPU profile by area, package and function')
    .argument('<profile>', 'a .cpuprofile file, or a directory holding them (the newest is read)')
    .addOption(new Option('--top <n>', 'rows of the package and function tables').default(25).argParser(Number))
    .addOption(new Option('--skip <seconds>', 'leave out the first seconds (start-up, warm-up)').argParser(Number))
    .addOption(new Option('--window <seconds>', 'summarise only the busiest span of this length (e.g. the load run)').argParser(Number))
    .addOption(
      new Option('--between <from,to>', 'summarise exactly this span, in process.hrtime µs (the clock V8 stamps samples with)').argParser(
        (value) => value.split(',').map(Number) as [number, number],
      ),
    )
    .addOption(new Option('--per <count>', 'also show CPU µs per one of this many requests in the window').argParser(Number))
    .addOption(new Option('--unit <name>', 'what --per counts').default('request'))
    .parse(process.argv);
  const options = program.opts<{ top: number; skip?: number; window?: number; between?: [number, number]; per?: number; unit: string }>();
  const file = profileFile(program.args[0]!);
  const summary = summarizeProfile(readCpuProfile(file), ROOT, {
    top: options.top,
    skipSeconds: options.skip,
    windowSeconds: options.window,
    betweenUs: options.between,
  });
  const per = options.per ? { count: options.per, unit: options.unit } : undefined;
  process.stdout.write(renderProfileSummary(summary, `CPU profile ${file}`, per));
}

try {
  main();
} catch (error) {
  process.stderr.write(`profile-summary: ${(error as Error).message}\n`);
  process.exit(1);
}

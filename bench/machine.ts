/** What a benchmark ran on: CPUs, memory, kernel, the versions of Node, Redis and wrk, and how busy the machine was. */
import { execFileSync } from 'node:child_process';
import { cpus, loadavg, release, totalmem } from 'node:os';

function version(command: string, args: string[]): string {
  try {
    return execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
      .split('\n')[0]!
      .trim();
  } catch (error) {
    // `wrk -v` prints its version and exits 1.
    const { stdout, stderr } = error as { stdout?: string; stderr?: string };
    return `${stdout ?? ''}${stderr ?? ''}`.split('\n')[0]!.trim() || 'unknown';
  }
}

export function describeMachine(): Record<string, string> {
  return {
    cpus: `${cpus().length} x ${cpus()[0]?.model ?? 'unknown'}`,
    memory: `${Math.round(totalmem() / 2 ** 30)} GiB`,
    kernel: release(),
    node: process.version,
    redis: version('redis-server', ['--version']),
    wrk: version('wrk', ['-v']),
    'load average before the run (1/5/15 min)': loadavg()
      .map((l) => l.toFixed(2))
      .join(' / '),
  };
}

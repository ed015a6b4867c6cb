/**
 * A private redis-server under valgrind's callgrind, to count the instructions Redis runs
 * for a piece of work. A count repeats exactly for the same binary and inputs, whatever
 * else the machine is doing, where CPU time moves with the load; the work runs about 50
 * times slower. Instrumentation stays off but while `count` measures.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Redis from 'ioredis';
import { freePort } from '../launcher/free-port';

const DUMP = 'callgrind.out';
const START_TIMEOUT_MS = 60_000;

export function requireCallgrind(): void {
  const missing = ['valgrind', 'callgrind_control', 'callgrind_annotate', 'redis-server'].filter(
    (tool) => spawnSync('which', [tool], { stdio: 'ignore' }).status !== 0,
  );
  if (missing.length > 0) {
    throw new Error(`--instructions needs ${missing.join(', ')}; on Debian/Ubuntu: sudo apt-get install -y valgrind redis-server`);
  }
}

export class CountedRedis {
  private constructor(
    readonly url: string,
    private readonly child: ChildProcess,
    private readonly dir: string,
    private readonly keepDumps: boolean,
  ) {}

  /** keepDumps: leave callgrind's dumps (one per count) for callgrind_annotate; their folder is printed at stop. */
  static async start(keepDumps = false): Promise<CountedRedis> {
    requireCallgrind();
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'nodeagg-callgrind-'));
    const child = spawn(
      'valgrind',
      [
        '--tool=callgrind',
        '--instr-atstart=no',
        `--callgrind-out-file=${join(dir, DUMP)}`,
        'redis-server',
        ...['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no'],
      ],
      { stdio: 'ignore' },
    );
    const redis = new Redis(port, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    redis.on('error', () => undefined);
    const deadline = Date.now() + START_TIMEOUT_MS;
    for (;;) {
      try {
        await redis.connect();
        await redis.ping();
        break;
      } catch {
        if (Date.now() > deadline) {
          child.kill('SIGKILL');
          throw new Error(`redis-server under valgrind did not answer within ${START_TIMEOUT_MS} ms`);
        }
        await new Promise((r) => setTimeout(r, 500));
      }
    }
    redis.disconnect();
    return new CountedRedis(`redis://127.0.0.1:${port}`, child, dir, keepDumps);
  }

  private control(...args: string[]): void {
    execFileSync('callgrind_control', [...args, String(this.child.pid)], { stdio: 'ignore' });
  }

  /** Instructions Redis ran during `work` (everything it did meanwhile, for any client). */
  async count(work: () => Promise<void>): Promise<number> {
    this.control('--instr=on');
    try {
      await work();
    } finally {
      this.control('--instr=off');
    }
    this.control('--dump');
    return programTotal(join(this.dir, newestDump(this.dir)));
  }

  async stop(): Promise<void> {
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.kill('SIGTERM');
    await exited;
    if (this.keepDumps) console.log(`callgrind dumps kept in ${this.dir}`);
    else rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Dumps are numbered callgrind.out.1, .2, ... in the order they were made. */
function newestDump(dir: string): string {
  const numbered = readdirSync(dir)
    .map((name) => ({ name, part: Number(/^callgrind\.out\.(\d+)$/.exec(name)?.[1] ?? NaN) }))
    .filter(({ part }) => Number.isFinite(part))
    .sort((a, b) => b.part - a.part);
  if (numbered.length === 0) throw new Error('callgrind wrote no dump');
  return numbered[0]!.name;
}

function programTotal(file: string): number {
  // --auto=no: a redis-server built with symbols would otherwise come with its annotated sources.
  const text = execFileSync('callgrind_annotate', ['--auto=no', file], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const match = /^\s*([\d,]+)\s+(?:\([^)]*\)\s+)?PROGRAM TOTALS/m.exec(text);
  if (!match) throw new Error(`no total in ${file}`);
  return Number(match[1]!.replace(/,/g, ''));
}

/**
 * `npm run bench:ingest-instructions -- --before <dist>`: the instructions ingest's own process
 * runs per single-sample POST, this checkout's build beside another's (e.g. a checkout of an
 * older commit, built), each under valgrind's callgrind in turn. CPU time per request moves
 * by tens of percent within seconds on a shared machine; an instruction count moves only with
 * what the process does (a few percent here: group sizes and collections follow timing), so
 * small changes to ingest's own work show. Kernel time (the socket calls) is not counted.
 *
 * `--baselines`: also the bare Koa handler and the routed one (bench/baseline-apps.ts) in each
 * run, so ingest's own work shows as instructions over the routed handler's, which does none.
 * `--with-token`: ingest requires a token and every POST carries one, as in the benchmark's
 * phases (the baselines get the same header and check nothing); else the API is open.
 *
 * Per run: ingest (API open, limits out of reach, no worker) on a private Redis, a warm-up of
 * twice `--requests` POSTs so the JIT has compiled the hot path, then counting on, `--requests`
 * POSTs (bench/post.lua's body and 1,000 node names, 50 connections kept alive), the dump
 * read: the main thread's count (the event loop: ingest's JavaScript, Node's, the scavenges)
 * and all threads' (V8's compiler and collector helpers too). About 50 times slower than
 * natively: a run of 8,000 POSTs takes about a minute.
 *
 * Work on a timer (the backpressure read every BACKPRESSURE_REFRESH_MS) runs per second of
 * wall time, not per POST: under callgrind, with about 60 times fewer POSTs a second than
 * natively, each POST would carry 60 times its share of it (about 1,500 instructions per POST
 * instead of 25, measured). The counted ingest reads it BACKGROUND_STRETCH times less often, so that
 * each POST carries about its native share.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Command, Option } from 'commander';
import { freePort } from '../launcher/free-port';
import { SETTINGS } from '../shared/config';
import { startPrivateRedis } from '../launcher/private-redis';
import { createToken } from '../cli/commands/token';
import { SCOPES } from '../shared/auth/scopes';
import { describeMachine } from './machine';
import { fixed } from './fixed-digits';
import { ROOT, UNREACHED_LIMITS } from './services';

const log = (line: string) => process.stderr.write(`[bench:ingest-instructions] ${line}\n`);
const CONNECTIONS = 50;
const BODY = '{"timeslice":10,"cpu":42.5,"mem":61}';
const HEADERS = { 'content-type': 'application/json' };
const READY_TIMEOUT_MS = 120_000;
/** How much less often the counted ingest does its timed work (about callgrind's slowdown): 500 ms becomes 30 s. */
const BACKGROUND_STRETCH = 60;
const BACKPRESSURE_REFRESH_MS = Number(SETTINGS.BACKPRESSURE_REFRESH_MS!.defaultValue);

function requireValgrind(): void {
  const missing = ['valgrind', 'callgrind_control'].filter((tool) => spawnSync('which', [tool], { stdio: 'ignore' }).status !== 0);
  if (missing.length > 0) throw new Error(`needs ${missing.join(', ')}; on Debian/Ubuntu: sudo apt-get install -y valgrind`);
}

function getStatus(url: string): Promise<number> {
  return new Promise((resolve) => {
    const req = request(url, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', () => resolve(0));
    req.end();
  });
}

/** `count` single POSTs over 50 kept-alive connections; answers how many were not 202. */
async function post(url: string, agent: Agent, count: number, token: string): Promise<number> {
  let next = 0;
  let refused = 0;
  const one = (n: number) =>
    new Promise<number>((resolve, reject) => {
      const req = request(
        `${url}/v1/metrics/node/wrk-${n % 1000}`,
        { method: 'POST', agent, headers: token ? { ...HEADERS, authorization: `Bearer ${token}` } : HEADERS },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        },
      );
      req.on('error', reject);
      req.end(BODY);
    });
  await Promise.all(
    Array.from({ length: CONNECTIONS }, async () => {
      while (next < count) if ((await one(next++)) !== 202) refused++;
    }),
  );
  return refused;
}

function stopped(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

interface Count {
  mainThread: number;
  allThreads: number;
}

/** What is counted: a server's command line, its environment and the path that answers 200 once it is ready. */
interface Target {
  argv: string[];
  env: NodeJS.ProcessEnv;
  readyPath: string;
}

/** `tokenLine`: API_TOKENS, '' for the open API. */
function ingestTarget(dist: string, redisUrl: string, port: number, tokenLine: string): Target {
  return {
    argv: [join(dist, 'ingest', 'main.js')],
    env: {
      ...process.env,
      REDIS_URL: redisUrl,
      KEY_PREFIX: `instructions${port}`,
      INGEST_HOST: '127.0.0.1',
      INGEST_PORT: String(port),
      WORKER_HEALTH_PORT: '0',
      LOG_LEVEL: 'warn',
      API_TOKENS: tokenLine,
      API_TOKENS_FILE: '',
      ...UNREACHED_LIMITS,
      BACKPRESSURE_REFRESH_MS: String(BACKPRESSURE_REFRESH_MS * BACKGROUND_STRETCH),
    },
    readyPath: '/readyz',
  };
}

/** The bare handler, or with `--routed` the one behind ingest's middleware and write routes. */
function baselineTarget(args: string[], port: number): Target {
  return { argv: [join(ROOT, 'dist', 'bench', 'bare-koa.js'), ...args], env: { ...process.env, PORT: String(port) }, readyPath: '/' };
}

/** Instructions per POST of one server. */
async function countOnce(target: (port: number) => Target, requests: number, token: string): Promise<Count> {
  const port = await freePort();
  const { argv, env, readyPath } = target(port);
  const dir = mkdtempSync(join(tmpdir(), 'nodeagg-ingest-callgrind-'));
  const child = spawn(
    'valgrind',
    [
      '--tool=callgrind',
      '--instr-atstart=no',
      // V8 writes and rewrites its machine code in memory.
      '--smc-check=all-non-file',
      // One dump per thread: the first is the main thread's.
      '--separate-threads=yes',
      `--callgrind-out-file=${join(dir, 'callgrind.out')}`,
      process.execPath,
      ...argv,
    ],
    { env, stdio: 'ignore' },
  );
  const url = `http://127.0.0.1:${port}`;
  const agent = new Agent({ keepAlive: true, maxSockets: CONNECTIONS });
  try {
    const deadline = Date.now() + READY_TIMEOUT_MS;
    while ((await getStatus(`${url}${readyPath}`)) !== 200) {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`${argv.join(' ')} did not become ready under valgrind`);
      await new Promise((r) => setTimeout(r, 500));
    }
    const warmUpRefused = await post(url, agent, 2 * requests, token);
    execFileSync('callgrind_control', ['--instr=on', String(child.pid)], { stdio: 'ignore' });
    const refused = await post(url, agent, requests, token);
    execFileSync('callgrind_control', ['--dump', String(child.pid)], { stdio: 'ignore' });
    if (warmUpRefused + refused > 0) throw new Error(`${warmUpRefused + refused} POSTs were not answered 202`);
    let allThreads = 0;
    let mainThread = 0;
    for (const file of readdirSync(dir)) {
      const match = /^(?:summary|totals):\s+(\d+)/m.exec(readFileSync(join(dir, file), 'utf8'));
      if (!match) continue;
      allThreads += Number(match[1]);
      if (file.endsWith('-01')) mainThread += Number(match[1]);
    }
    if (mainThread === 0) throw new Error('callgrind wrote no count of the main thread');
    return { mainThread: mainThread / requests, allThreads: allThreads / requests };
  } finally {
    agent.destroy();
    await stopped(child);
    rmSync(dir, { recursive: true, force: true });
  }
}

type Side = 'before' | 'after' | 'routed' | 'bare';
const SIDE_NAMES: Record<Side, string> = {
  before: 'before',
  after: 'after (this checkout)',
  routed: "the routed handler (the app's middleware and write routes, no work)",
  bare: 'the bare Koa handler',
};

async function main(): Promise<void> {
  const program = new Command('bench:ingest-instructions')
    .description("instructions per single POST of this checkout's ingest and another build's, under callgrind")
    .requiredOption('--before <dist>', "the other build's dist/ directory")
    .addOption(new Option('--requests <n>', 'POSTs counted per run (twice as many before, to warm up)').default(8000).argParser(Number))
    .addOption(new Option('--runs <n>', 'runs per build, alternated').default(3).argParser(Number))
    .option('--baselines', 'also count the bare Koa handler and the routed one in each run')
    .option('--with-token', "a token on every POST, as in the benchmark's phases: ingest checks it, the baselines get the header only")
    .parse(process.argv);
  const options = program.opts<{ before: string; requests: number; runs: number; baselines?: boolean; withToken?: boolean }>();
  requireValgrind();
  const sides: Side[] = options.baselines ? ['before', 'after', 'routed', 'bare'] : ['before', 'after'];
  const counts: Partial<Record<Side, Count[]>> = {};
  const redis = await startPrivateRedis();
  const bench = options.withToken ? createToken('bench', [...SCOPES]) : { line: '', token: '' };
  const targets: Record<Side, (port: number) => Target> = {
    before: (port) => ingestTarget(resolve(options.before), redis.url, port, bench.line),
    after: (port) => ingestTarget(join(ROOT, 'dist'), redis.url, port, bench.line),
    routed: (port) => baselineTarget(['--routed'], port),
    bare: (port) => baselineTarget([], port),
  };
  try {
    for (let run = 0; run < options.runs; run++) {
      for (const side of sides) {
        log(`run ${run + 1}: ${SIDE_NAMES[side]}, ${2 * options.requests} POSTs to warm up, ${options.requests} counted`);
        const count = await countOnce(targets[side], options.requests, bench.token);
        (counts[side] ??= []).push(count);
        log(`  ${fixed(count.mainThread, 0)} instructions per POST on the main thread, ${fixed(count.allThreads, 0)} in all`);
      }
    }
  } finally {
    await redis.destroy();
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const cells = (xs: number[]) => `${fixed(median(xs), 0)} | ${xs.map((x) => fixed(x, 0)).join(', ')}`;
  const row = (side: Side) => {
    const runs = counts[side]!;
    const name = side === 'before' ? `before (${options.before})` : SIDE_NAMES[side];
    return `| ${name} | ${cells(runs.map((c) => c.mainThread))} | ${cells(runs.map((c) => c.allThreads))} |`;
  };
  const ratio = (side: Side, pick: (c: Count) => number) => fixed(median(counts[side]!.map(pick)) / median(counts.before!.map(pick)), 3);
  const mainThread = (c: Count) => c.mainThread;
  const allThreads = (c: Count) => c.allThreads;
  const mainThreadOver = (side: Side, base: Side) =>
    fixed(median(counts[side]!.map(mainThread)) - median(counts[base]!.map(mainThread)), 0);
  process.stdout.write(
    [
      `# Ingest instructions per single POST, ${new Date().toISOString()}`,
      '',
      `Command: \`npm run bench:ingest-instructions -- --before ${options.before} --requests ${options.requests} --runs ${options.runs}${options.baselines ? ' --baselines' : ''}${options.withToken ? ' --with-token' : ''}\``,
      '',
      ...Object.entries(describeMachine()).map(([k, v]) => `- ${k}: ${v}`),
      '',
      '| server | main thread, median | each run | all threads, median | each run |',
      '|---|---|---|---|---|',
      ...sides.map(row),
      '',
      `After / before (medians): main thread x${ratio('after', mainThread)}, all threads x${ratio('after', allThreads)}.`,
      ...(options.baselines
        ? [
            `Main thread over the routed handler (ingest's own work): before ${mainThreadOver('before', 'routed')}, ` +
              `after ${mainThreadOver('after', 'routed')}; the routed handler over the bare one: ${mainThreadOver('routed', 'bare')}.`,
          ]
        : []),
      '',
    ].join('\n'),
  );
}

main().then(
  () => process.exit(0),
  (error: Error) => {
    process.stderr.write(`bench:ingest-instructions: ${error.message}\n`);
    process.exit(1);
  },
);

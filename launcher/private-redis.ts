/** Starts a private redis-server on a free port (for `npm start` without a Redis, and tests). */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './free-port';

export interface PrivateRedis {
  url: string;
  port: number;
  dir: string;
  process: ChildProcess;
  /** Stops the server (SIGTERM, or SIGKILL to simulate a crash), keeping its files. */
  stop(signal?: NodeJS.Signals): Promise<void>;
  /** Starts it again on the same port and directory (append-only data is reloaded). */
  restart(): Promise<void>;
  /** Stops it and deletes its directory. */
  destroy(): Promise<void>;
}

/** How often a stop repeats its SIGTERM until the server exits. */
const SIGTERM_REPEAT_MS = 1000;

/** The server's log, in its directory. */
export const REDIS_LOG_FILE = 'redis.log';

export interface PrivateRedisOptions {
  appendOnly?: boolean;
  port?: number;
  extraArgs?: string[];
}

/** Whether a program runs from PATH (`<program> --version` exits 0). */
export function programAvailable(program: string): boolean {
  return spawnSync(program, ['--version'], { stdio: 'ignore' }).status === 0;
}

export function redisServerAvailable(): boolean {
  return programAvailable('redis-server');
}

/** One PING over a plain socket: no client library timers outlive the check. */
function pingOnce(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (data) => done(data.toString().startsWith('+PONG')));
  });
}

async function waitForPing(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await pingOnce(port))) {
    if (Date.now() > deadline) throw new Error(`redis-server on port ${port} did not start within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function startPrivateRedis(options: PrivateRedisOptions = {}): Promise<PrivateRedis> {
  const port = options.port ?? (await freePort());
  const dir = mkdtempSync(join(tmpdir(), 'nodeagg-redis-'));
  const args = [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--dir',
    dir,
    '--save',
    '',
    '--appendonly',
    options.appendOnly ? 'yes' : 'no',
    '--appendfsync',
    'always',
    // Kept beside the data: a test that fails on a server's behaviour can quote it.
    '--logfile',
    join(dir, REDIS_LOG_FILE),
    ...(options.extraArgs ?? []),
  ];
  const url = `redis://127.0.0.1:${port}`;
  let child: ChildProcess;
  const launch = async () => {
    child = spawn('redis-server', args, { stdio: 'ignore' });
    // The owner decides when it stops; it must not keep the owner's event loop alive.
    child.unref();
    handle.process = child;
    await waitForPing(port, 10_000);
  };
  const stop = async (signal: NodeJS.Signals = 'SIGTERM') => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    // Waiting on an unref'd child keeps nothing alive: Node would exit mid-await with code 0,
    // swallowing the owner's own exit code (jest's, after failed tests).
    child.ref();
    child.kill(signal);
    // Redis drops a SIGTERM it cannot honour yet ("Writing initial AOF, can't exit": append-only
    // switched on at run time, or a replica just synced) and runs on; a shutdown under way
    // ignores a repeated one. (A second SIGINT would exit at once, without saving.)
    const repeat = signal === 'SIGTERM' ? setInterval(() => child.kill(signal), SIGTERM_REPEAT_MS) : undefined;
    try {
      await exited;
    } finally {
      clearInterval(repeat);
    }
  };
  const handle: PrivateRedis = {
    url,
    port,
    dir,
    process: undefined as unknown as ChildProcess,
    stop,
    restart: launch,
    destroy: async () => {
      await stop('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await launch();
  return handle;
}

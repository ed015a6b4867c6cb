/** Child processes for the entry point test: a private redis-server, the service, HTTP polling. */
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import { freePort } from '../../launcher/free-port';

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export interface Running {
  child: ChildProcess;
  /** stdout and stderr so far, for failure messages. */
  output: () => string;
  /** Resolves with the exit code (or signal name) when the process ends. */
  exited: Promise<number | string>;
}

export function start(argv: string[], env: NodeJS.ProcessEnv, cwd: string): Running {
  const [program = '', ...args] = argv;
  const child = spawn(program, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const exited = new Promise<number | string>((resolve) => {
    child.once('error', (error) => {
      output += `\nspawn error: ${error.message}`;
      resolve('spawn-error');
    });
    child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown'));
  });
  return { child, output: () => output, exited };
}

/** Exit code, or 'timeout' if the process is still running after `ms`. */
export async function exitWithin(running: Running, ms: number): Promise<number | string> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<string>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), ms);
  });
  try {
    return await Promise.race([running.exited, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export async function stop(running: Running | undefined): Promise<void> {
  if (!running || running.child.exitCode !== null || running.child.signalCode !== null) return;
  running.child.kill('SIGKILL');
  await running.exited;
}

export function httpGet(
  port: number,
  path: string,
  timeoutMs = 2000,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path, timeout: timeoutMs, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${path} timed out`)));
    req.on('error', reject);
  });
}

/** Polls until GET path answers `status`; throws with the process output after `timeoutMs`. */
export async function waitForProcessStatus(running: Running, port: number, path: string, status: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer';
  while (Date.now() < deadline) {
    if (running.child.exitCode !== null || running.child.signalCode !== null) {
      throw new Error(
        `process exited (${running.child.exitCode ?? running.child.signalCode ?? ''}) before ${path} answered ${status}:\n${running.output()}`,
      );
    }
    try {
      const res = await httpGet(port, path);
      if (res.status === status) return;
      last = `${res.status} ${res.body.slice(0, 200)}`;
    } catch (error) {
      last = (error as Error).message;
    }
    await sleep(200);
  }
  throw new Error(`GET ${path} did not answer ${status} within ${timeoutMs} ms (last: ${last}); output:\n${running.output()}`);
}

/** A throw-away redis-server on a free port: no persistence, a password like the real one. */
export async function startRedis(password: string): Promise<{ port: number; running: Running }> {
  const port = await freePort();
  const running = start(
    ['redis-server', '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--requirepass', password],
    { PATH: process.env.PATH },
    process.cwd(),
  );
  const deadline = Date.now() + 10000;
  while (Date.now() < deadline) {
    if (running.child.exitCode !== null) break;
    const ok = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.end();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return { port, running };
    await sleep(100);
  }
  await stop(running);
  throw new Error(`redis-server did not start (is it installed?):\n${running.output()}`);
}

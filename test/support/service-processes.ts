// Ingest and worker child processes (from dist/) on free ports, with their output kept for failures.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { freePort } from '../../launcher/free-port';
import { INGEST_ENTRY, WORKER_ENTRY } from './worker-process';
import { waitForStatus } from './http-outcomes';

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** When the process exited (ms since epoch). */
  at: number;
}

export class ServiceProcess {
  private readonly outputChunks: string[] = [];
  private outputLength = 0;
  readonly exited: Promise<ExitInfo>;
  exit: ExitInfo | undefined;

  constructor(
    readonly role: string,
    readonly child: ChildProcess,
    /** Base URL of its HTTP server (the API of ingest, the probes of a worker). */
    readonly url: string,
    readonly env: Record<string, string>,
  ) {
    const keep = (chunk: Buffer) => {
      this.outputChunks.push(chunk.toString('utf8'));
      this.outputLength += chunk.length;
      while (this.outputLength > 20_000 && this.outputChunks.length > 1) this.outputLength -= this.outputChunks.shift()!.length;
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    this.exited = new Promise((resolve) =>
      child.once('exit', (code, signal) => {
        this.exit = { code, signal, at: Date.now() };
        resolve(this.exit);
      }),
    );
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get running(): boolean {
    return this.exit === undefined;
  }

  /** The last output of the process (its logs and any crash trace). */
  output(): string {
    return this.outputChunks.join('').slice(-4000);
  }

  /** Sends `signal` and resolves with the exit, or with undefined when it outlives `timeoutMs`. */
  async signalAndWait(signal: NodeJS.Signals, timeoutMs: number): Promise<ExitInfo | undefined> {
    if (this.exit) return this.exit;
    this.child.kill(signal);
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), timeoutMs);
    });
    const result = await Promise.race([this.exited, timedOut]);
    clearTimeout(timer);
    return result;
  }

  /** Kills it for good (cleanup). */
  async kill(): Promise<void> {
    if (this.exit) return;
    this.child.kill('SIGKILL');
    await this.exited;
  }
}

function spawnChild(role: string, entry: string, env: Record<string, string>, url: string): ServiceProcess {
  if (!existsSync(entry)) throw new Error(`${entry} is missing: run "npm run build" first (npm test does).`);
  const child = spawn(process.execPath, [entry], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  return new ServiceProcess(role, child, url, env);
}

async function waitUntilServing(service: ServiceProcess, probe: string, timeoutMs: number): Promise<void> {
  const failed = service.exited.then((exit) => {
    throw new Error(`${service.role} exited during start-up (${JSON.stringify(exit)}):\n${service.output()}`);
  });
  failed.catch(() => undefined);
  await Promise.race([waitForStatus(`${service.url}${probe}`, 200, timeoutMs), failed]);
}

/** Starts `node dist/ingest/main.js` on a free port and waits until /readyz answers 200. */
export async function startIngestProcess(env: Record<string, string>): Promise<ServiceProcess> {
  const port = await freePort();
  const full = { ...env, INGEST_HOST: '127.0.0.1', INGEST_PORT: String(port), WORKER_HEALTH_PORT: String(await freePort()) };
  const service = spawnChild('ingest', INGEST_ENTRY, full, `http://127.0.0.1:${port}`);
  await waitUntilServing(service, '/readyz', 60_000);
  return service;
}

/** Starts `node dist/worker/main.js` as consumer `name` and waits until its /readyz answers 200. */
export async function startWorkerProcess(env: Record<string, string>, name: string): Promise<ServiceProcess> {
  const port = await freePort();
  const full = { ...env, INGEST_HOST: '127.0.0.1', WORKER_HEALTH_PORT: String(port), WORKER_CONSUMER_NAME: name };
  const service = spawnChild(`worker ${name}`, WORKER_ENTRY, full, `http://127.0.0.1:${port}`);
  await waitUntilServing(service, '/readyz', 60_000);
  return service;
}

/**
 * What `npm start` and `npm run start:cluster` share: the configuration check, the ingest and
 * worker children, and one stop for everything on Ctrl-C, SIGTERM or a child's exit.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { ConfigError, loadConfig, type Config } from '../shared/config';
import { SERVICE_NODE_FLAGS, type ServiceRole } from './service-node-flags';

/** The configuration the services will read, or exit 2 with the message naming the bad variable. */
export function loadConfigOrExit(env: NodeJS.ProcessEnv = process.env): Config {
  try {
    return loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      process.exit(2);
    }
    throw error;
  }
}

export class ServiceSession {
  private readonly children: ChildProcess[] = [];
  /** Stops what the launcher started for the services (a private Redis), after the services. */
  private readonly backendStops: (() => Promise<void>)[] = [];
  private pendingBackend: Promise<unknown> | undefined;
  private stopping = false;

  constructor() {
    process.on('SIGINT', () => void this.stop(0));
    process.on('SIGTERM', () => void this.stop(0));
  }

  /**
   * Starts what the services need; a stop requested meanwhile waits for it, so nothing started
   * is left running. Answers undefined when the session is stopping by then.
   */
  async startBackend<T>(start: () => Promise<T>, stop: (backend: T) => Promise<void>): Promise<T | undefined> {
    const pending = start().then((backend) => {
      this.backendStops.push(() => stop(backend));
      return backend;
    });
    this.pendingBackend = pending;
    const backend = await pending;
    return this.stopping ? undefined : backend;
  }

  /** Runs ingest and a worker from dist/ with this environment, and prints where they answer. */
  startServices(env: NodeJS.ProcessEnv, config: Config): void {
    if (this.stopping) return;
    const dist = join(__dirname, '..');
    for (const role of ['ingest', 'worker'] as const satisfies readonly ServiceRole[]) {
      const child = spawn(process.execPath, [...SERVICE_NODE_FLAGS[role], join(dist, role, 'main.js')], { env, stdio: 'inherit' });
      child.once('exit', (code) => {
        if (this.stopping) return;
        console.error(`a service exited (code ${code}); stopping the others`);
        void this.stop(code || 1);
      });
      this.children.push(child);
    }
    console.log(
      `fleet page and API: http://127.0.0.1:${config.ingestPort}/  worker health: http://127.0.0.1:${config.workerHealthPort}/readyz  (Ctrl-C stops everything)`,
    );
  }

  async stop(code: number): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    await Promise.all(this.children.map(stopChild));
    await this.pendingBackend?.catch(() => undefined);
    for (const stopBackend of this.backendStops) await stopBackend();
    process.exit(code);
  }
}

function stopChild(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

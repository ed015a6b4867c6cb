/** Ctrl-C / SIGTERM as a promise and a flag, so loops stop between steps instead of dying mid-request. */

export interface StopSignal {
  readonly stopped: boolean;
  /** Resolves when a stop was requested. */
  readonly whenStopped: Promise<void>;
  /** Sleeps, waking early on stop. */
  sleep(ms: number): Promise<void>;
  dispose(): void;
}

/** The first Ctrl-C asks for a clean stop; a second one exits at once (exit code 130). */
export function onStopSignal(onFirst?: () => void): StopSignal {
  let stopped = false;
  let resolveStop!: () => void;
  const whenStopped = new Promise<void>((resolve) => (resolveStop = resolve));
  // Sleepers wake on stop; each removes itself when its timer fires, so long runs hold nothing.
  const sleepers = new Set<() => void>();
  const handler = () => {
    if (stopped) process.exit(130);
    stopped = true;
    onFirst?.();
    resolveStop();
    for (const wake of sleepers) wake();
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return {
    get stopped() {
      return stopped;
    },
    whenStopped,
    sleep: (ms) =>
      new Promise<void>((resolve) => {
        if (stopped) return resolve();
        const wake = () => {
          clearTimeout(timer);
          sleepers.delete(wake);
          resolve();
        };
        const timer = setTimeout(wake, ms);
        sleepers.add(wake);
      }),
    dispose: () => {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
    },
  };
}

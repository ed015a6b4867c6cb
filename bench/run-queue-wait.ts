/**
 * How long each of some processes was runnable but waiting for a core, from Linux
 * /proc/<pid>/schedstat (its second field: time spent on a run queue, in ns). Only the main
 * thread is read: Node's JavaScript and Redis's commands run there. A process waiting a large
 * share of a phase answers late however little CPU it needs.
 */
import { readFileSync } from 'node:fs';

export interface ProcessWait {
  name: string;
  /** Share of the phase the process ran on a core, percent. */
  runningPercent: number;
  /** Share of the phase the process was runnable and waited for a core, percent. */
  waitingPercent: number;
}

interface Schedstat {
  runNs: number;
  waitNs: number;
}

function readSchedstat(pid: number | 'self'): Schedstat | null {
  try {
    const [run, wait] = readFileSync(`/proc/${pid}/schedstat`, 'utf8').trim().split(/\s+/).map(Number);
    return Number.isFinite(run) && Number.isFinite(wait) ? { runNs: run!, waitNs: wait! } : null;
  } catch {
    return null; // not Linux, the kernel keeps no schedstat, or the process exited
  }
}

export class RunQueueWaitMeter {
  private readonly startedAt = process.hrtime.bigint();
  private readonly start: Map<string, Schedstat>;

  /** `pids`: name → pid ('self' for the benchmark process). */
  constructor(private readonly pids: Readonly<Record<string, number | 'self'>>) {
    this.start = new Map();
    for (const [name, pid] of Object.entries(pids)) {
      const stat = readSchedstat(pid);
      if (stat) this.start.set(name, stat);
    }
  }

  finish(): ProcessWait[] {
    const wallNs = Number(process.hrtime.bigint() - this.startedAt);
    const round = (v: number) => Math.round(v * 10) / 10;
    const waits: ProcessWait[] = [];
    for (const [name, pid] of Object.entries(this.pids)) {
      const before = this.start.get(name);
      const after = readSchedstat(pid);
      if (!before || !after || wallNs <= 0) continue;
      waits.push({
        name,
        runningPercent: round(((after.runNs - before.runNs) / wallNs) * 100),
        waitingPercent: round(((after.waitNs - before.waitNs) / wallNs) * 100),
      });
    }
    return waits;
  }
}

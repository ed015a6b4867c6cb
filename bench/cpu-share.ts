/**
 * How much of the machine's CPU went to processes outside the benchmark during a configuration,
 * so a figure disturbed by other work on a shared machine says so (Linux /proc; null elsewhere).
 */
import { readFileSync } from 'node:fs';
import { parseProcStat } from '../cli/agent/proc-parsers';
import { processTicks } from './process-cpu';

export interface CpuShare {
  /** Busy share of all CPUs over the span, percent. */
  machineBusy: number;
  /** Busy share used by processes outside the benchmark, percent of all CPUs. */
  foreign: number;
}

export class CpuShareMeter {
  private readonly start = this.snapshot([]);

  constructor(private readonly pids: () => number[]) {}

  private snapshot(pids: number[]): { busy: number; total: number; ours: number } {
    const { busy, total } = parseProcStat(readFileSync('/proc/stat', 'utf8'));
    return { busy, total, ours: processTicks('self', true) + pids.reduce((sum, pid) => sum + processTicks(pid), 0) };
  }

  /** Call while the benchmark's processes are still running (their ticks vanish when they exit). */
  finish(): CpuShare | null {
    if (process.platform !== 'linux') return null;
    const end = this.snapshot(this.pids());
    const total = end.total - this.start.total;
    if (total <= 0) return null;
    const busy = end.busy - this.start.busy;
    // Our services started after the first snapshot: all their ticks fall inside the span.
    const ours = end.ours - this.start.ours;
    const round = (v: number) => Math.round(v * 10) / 10;
    return { machineBusy: round((busy / total) * 100), foreign: round((Math.max(0, busy - ours) / total) * 100) };
  }
}

/** Waits (up to `maxWaitMs`) for a 3-second span in which the machine is less than `idleBelow` % busy; answers the last busy share seen. */
export async function waitForQuietMachine(idleBelow: number, maxWaitMs: number): Promise<number | null> {
  if (process.platform !== 'linux') return null;
  const deadline = Date.now() + maxWaitMs;
  for (;;) {
    const a = parseProcStat(readFileSync('/proc/stat', 'utf8'));
    await new Promise((r) => setTimeout(r, 3000));
    const b = parseProcStat(readFileSync('/proc/stat', 'utf8'));
    const busy = ((b.busy - a.busy) / Math.max(1, b.total - a.total)) * 100;
    if (busy < idleBelow || Date.now() > deadline) return Math.round(busy * 10) / 10;
  }
}

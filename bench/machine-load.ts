/**
 * How loaded the whole machine was during one phase: the busy share of all CPUs, and how many
 * processes were runnable on average (`procs_running` in /proc/stat, sampled every 100 ms;
 * the sampling benchmark itself counts as one). More runnable processes than cores means
 * some wait for a core, which is where latency tails on a small machine come from.
 * Linux only; null elsewhere.
 */
import { readFileSync } from 'node:fs';
import { parseProcStat } from '../cli/agent/proc-parsers';
import { RunQueueWaitMeter, type ProcessWait } from './run-queue-wait';

export interface MachineLoad {
  /** Busy share of all CPUs over the phase, percent. */
  busyPercent: number;
  /** Mean of the runnable processes sampled over the phase. */
  runnableMean: number;
  cores: number;
  /** Each named process's share of the phase on a core and waiting for one (run-queue-wait.ts). */
  processes: ProcessWait[];
}

const SAMPLE_MS = 100;

function runnableNow(stat: string): number {
  const match = /^procs_running (\d+)$/m.exec(stat);
  return match ? Number(match[1]) : NaN;
}

export class MachineLoadMeter {
  private readonly start: { busy: number; total: number } | null;
  private readonly samples: number[] = [];
  private readonly timer: NodeJS.Timeout | undefined;
  private readonly waits: RunQueueWaitMeter;

  /** `processes`: name → pid of the processes whose wait for a core to report. */
  constructor(processes: Readonly<Record<string, number | 'self'>> = {}) {
    this.waits = new RunQueueWaitMeter(processes);
    if (process.platform !== 'linux') {
      this.start = null;
      return;
    }
    this.start = parseProcStat(readFileSync('/proc/stat', 'utf8'));
    this.timer = setInterval(() => this.samples.push(runnableNow(readFileSync('/proc/stat', 'utf8'))), SAMPLE_MS);
    this.timer.unref();
  }

  finish(): MachineLoad | null {
    clearInterval(this.timer);
    if (this.start === null) return null;
    const stat = readFileSync('/proc/stat', 'utf8');
    const end = parseProcStat(stat);
    const total = end.total - this.start.total;
    const counted = this.samples.filter((s) => Number.isFinite(s));
    if (total <= 0 || counted.length === 0) return null;
    const round = (v: number) => Math.round(v * 10) / 10;
    return {
      busyPercent: round(((end.busy - this.start.busy) / total) * 100),
      runnableMean: round(counted.reduce((sum, s) => sum + s, 0) / counted.length),
      cores: (stat.match(/^cpu\d+ /gm) ?? []).length,
      processes: this.waits.finish(),
    };
  }
}

/** Runs `work` and measures the machine (and the named processes' waits for a core) meanwhile. */
export async function withMachineLoad<T>(
  work: () => Promise<T>,
  processes: Readonly<Record<string, number | 'self'>> = {},
): Promise<{ result: T; load: MachineLoad | null }> {
  const meter = new MachineLoadMeter(processes);
  try {
    const result = await work();
    return { result, load: meter.finish() };
  } catch (error) {
    meter.finish();
    throw error;
  }
}

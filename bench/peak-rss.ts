/**
 * A process's largest resident set over one phase: its VmRSS, read every 50 ms. VmHWM holds
 * the peak of the whole run, which an earlier phase may have set.
 */
import { readFileSync } from 'node:fs';

const EVERY_MS = 50;

/** A field of /proc/<pid>/status in kB (VmRSS, VmHWM); 0 once the process is gone. Linux only. */
export function procStatusKb(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  try {
    const match = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) : 0;
  } catch {
    return 0;
  }
}

export class PeakRss {
  private peakKb = 0;
  private readonly timer: NodeJS.Timeout;

  private constructor(private readonly pid: number) {
    this.read();
    this.timer = setInterval(() => this.read(), EVERY_MS);
  }

  static follow(pid: number): PeakRss {
    return new PeakRss(pid);
  }

  private read(): void {
    this.peakKb = Math.max(this.peakKb, procStatusKb(this.pid, 'VmRSS'));
  }

  /** Stops reading; the peak in MB. */
  stop(): number {
    clearInterval(this.timer);
    this.read();
    return this.peakKb / 1024;
  }
}

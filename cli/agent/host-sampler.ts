/** Node CPU and memory percentages over an interval: /proc on Linux, os.cpus()/os.freemem() elsewhere. */
import { readFileSync } from 'node:fs';
import { cpus, freemem, totalmem } from 'node:os';
import { parseMeminfo, parseProcStat, type CpuTimes } from './proc-parsers';

export interface HostReading {
  /** Percent of all CPUs busy over the interval. */
  cpu: number;
  /** Percent of memory in use now (total - available). */
  mem: number;
}

export const procAvailable = (): boolean => process.platform === 'linux';

function osCpuTimes(): CpuTimes {
  let busy = 0;
  let total = 0;
  for (const c of cpus()) {
    const sum = c.times.user + c.times.nice + c.times.sys + c.times.idle + c.times.irq;
    total += sum;
    busy += sum - c.times.idle;
  }
  return { busy, total };
}

export class HostSampler {
  private last: CpuTimes;

  constructor(private readonly useProc = procAvailable()) {
    this.last = this.cpuTimes();
  }

  private cpuTimes(): CpuTimes {
    return this.useProc ? parseProcStat(readFileSync('/proc/stat', 'utf8')) : osCpuTimes();
  }

  private memPercent(): number {
    if (this.useProc) {
      const { totalKb, availableKb } = parseMeminfo(readFileSync('/proc/meminfo', 'utf8'));
      return ((totalKb - availableKb) / totalKb) * 100;
    }
    return ((totalmem() - freemem()) / totalmem()) * 100;
  }

  /** CPU since the previous call (or construction); memory now. */
  read(): HostReading {
    const now = this.cpuTimes();
    const busy = now.busy - this.last.busy;
    const total = now.total - this.last.total;
    this.last = now;
    return { cpu: clampPercent(total > 0 ? (busy / total) * 100 : 0), mem: clampPercent(this.memPercent()) };
  }
}

function clampPercent(value: number): number {
  return Math.min(100, Math.max(0, Math.round(value * 100) / 100));
}

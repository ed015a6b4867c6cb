/** The top processes by CPU over an interval, from /proc/[pid]/stat (Linux only). */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { toProcessName } from './agent-names';
import { parsePidStat } from './proc-parsers';

export interface ProcessReading {
  name: string;
  /** Percent of one CPU over the interval, summed over the processes of that name (may exceed 100). */
  cpu: number;
  /** Resident memory, MB, summed over the processes of that name. */
  memMb: number;
  /** How many processes share the name. */
  count: number;
}

function getconf(name: string, fallback: number): number {
  const result = spawnSync('getconf', [name], { encoding: 'utf8' });
  const value = Number(result.stdout?.trim());
  return result.status === 0 && Number.isFinite(value) && value > 0 ? value : fallback;
}

interface Seen {
  ticks: number;
}

export class ProcessSampler {
  /** Clock ticks per second of /proc times (USER_HZ, 100 on nearly every Linux). */
  readonly ticksPerSecond = getconf('CLK_TCK', 100);
  readonly pageBytes = getconf('PAGESIZE', 4096);
  private last = new Map<string, Seen>();
  private lastAt = performance.now();

  constructor() {
    this.remember(this.scan());
  }

  private remember(current: Map<string, { ticks: number }>): void {
    this.last = new Map([...current].map(([key, s]) => [key, { ticks: s.ticks }]));
    this.lastAt = performance.now();
  }

  private scan(): Map<string, { comm: string; ticks: number; rssPages: number }> {
    const found = new Map<string, { comm: string; ticks: number; rssPages: number }>();
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      let text: string;
      try {
        text = readFileSync(`/proc/${entry}/stat`, 'utf8');
      } catch {
        continue; // the process exited between the listing and the read
      }
      const stat = parsePidStat(text);
      if (stat) found.set(`${entry}:${stat.startTime}`, stat);
    }
    return found;
  }

  /** Processes grouped by name, busiest first, over the time since the previous call. */
  read(top: number): ProcessReading[] {
    const now = performance.now();
    const seconds = (now - this.lastAt) / 1000;
    const current = this.scan();
    const byName = new Map<string, ProcessReading>();
    for (const [key, stat] of current) {
      // A process new since the last scan started within the interval: all its time is in it.
      const ticks = stat.ticks - (this.last.get(key)?.ticks ?? 0);
      const name = toProcessName(stat.comm);
      const reading = byName.get(name) ?? { name, cpu: 0, memMb: 0, count: 0 };
      reading.cpu += seconds > 0 ? (ticks / this.ticksPerSecond / seconds) * 100 : 0;
      reading.memMb += (stat.rssPages * this.pageBytes) / (1024 * 1024);
      reading.count += 1;
      byName.set(name, reading);
    }
    this.remember(current);
    return [...byName.values()]
      .map((r) => ({ ...r, cpu: Math.round(r.cpu * 100) / 100, memMb: Math.round(r.memMb * 100) / 100 }))
      .sort((a, b) => b.cpu - a.cpu || b.memMb - a.memMb || (a.name < b.name ? -1 : 1))
      .slice(0, top);
  }
}

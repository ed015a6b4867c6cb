/** Pure parsers of Linux /proc files (kept apart from the file reads so they can be tested on any OS). */

export interface CpuTimes {
  /** Jiffies spent doing work (everything but idle and iowait). */
  busy: number;
  total: number;
}

/** The aggregate "cpu" line of /proc/stat: user nice system idle iowait irq softirq steal (guest is inside user). */
export function parseProcStat(text: string): CpuTimes {
  const line = text.split('\n').find((l) => l.startsWith('cpu '));
  if (!line) throw new Error('/proc/stat has no aggregate "cpu" line');
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = line
    .trim()
    .split(/\s+/)
    .slice(1)
    .map(Number);
  const total = user + nice + system + idle + iowait + irq + softirq + steal;
  return { busy: total - idle - iowait, total };
}

export interface MemInfo {
  totalKb: number;
  availableKb: number;
}

export function parseMeminfo(text: string): MemInfo {
  const values = new Map<string, number>();
  for (const line of text.split('\n')) {
    const match = /^(\w+):\s+(\d+)/.exec(line);
    if (match) values.set(match[1]!, Number(match[2]));
  }
  const totalKb = values.get('MemTotal');
  if (!totalKb) throw new Error('/proc/meminfo has no MemTotal');
  // MemAvailable exists since Linux 3.14; before it, free + buffers + page cache is the usual estimate.
  const availableKb =
    values.get('MemAvailable') ?? (values.get('MemFree') ?? 0) + (values.get('Buffers') ?? 0) + (values.get('Cached') ?? 0);
  return { totalKb, availableKb };
}

export interface PidStat {
  comm: string;
  /** utime + stime, in clock ticks. */
  ticks: number;
  /** Start time after boot, in clock ticks: with the pid, identifies the process across pid reuse. */
  startTime: number;
  rssPages: number;
}

/** /proc/[pid]/stat. The name sits in parentheses and may itself hold spaces and ")", so split after the last ")". */
export function parsePidStat(text: string): PidStat | undefined {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) return undefined;
  // Fields after the name start at field 3 (state): utime is field 14, stime 15, starttime 22, rss 24.
  const rest = text.slice(close + 2).split(' ');
  const utime = Number(rest[11]);
  const stime = Number(rest[12]);
  const startTime = Number(rest[19]);
  const rssPages = Number(rest[21]);
  if (![utime, stime, startTime, rssPages].every(Number.isFinite)) return undefined;
  return { comm: text.slice(open + 1, close), ticks: utime + stime, startTime, rssPages };
}

/** CPU time of a process from Linux /proc/<pid>/stat (0 elsewhere, or once it has exited). */
import { readFileSync } from 'node:fs';

/** USER_HZ: /proc counts CPU time in ticks of 1/100 s on Linux. */
export const CLOCK_TICK_US = 10_000;

/** utime + stime (+ cutime + cstime: the waited-for children) of one pid, in ticks. */
export function processTicks(pid: number | 'self', withChildren = false): number {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name in parentheses, which may itself hold spaces.
    const rest = text
      .slice(text.lastIndexOf(')') + 2)
      .split(' ')
      .map(Number);
    return rest[11]! + rest[12]! + (withChildren ? rest[13]! + rest[14]! : 0);
  } catch {
    return 0;
  }
}

/** utime + stime of one pid, in microseconds (10 ms resolution). */
export function processCpuUs(pid: number): number {
  return processTicks(pid) * CLOCK_TICK_US;
}

/**
 * utime + stime of this process's main thread alone, in microseconds (10 ms resolution): the
 * rest of a Node process's CPU is V8's helper threads (garbage collection, compilation).
 */
export function mainThreadCpuUs(): number {
  return processTicks(`self/task/${process.pid}` as 'self') * CLOCK_TICK_US;
}

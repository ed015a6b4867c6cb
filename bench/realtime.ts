/**
 * `--realtime`: some of the pipeline's processes under Linux's real-time FIFO scheduler, so the
 * others on the machine (the load generator, wrk, the bare handler) cannot keep them off a core.
 * It tests the claim of docs/BENCHMARKS.md that the latency tails are waits for a shared core:
 * the same code, only the scheduling changed. Needs `chrt` and the right to use it (root).
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/**
 * With ingest real-time too, the generator, wrk and redis-benchmark (normal priority) get what the
 * three leave: in two runs the generator sent half its load and was seconds late, so the
 * freshness and query figures then time the starved load, not the pipeline.
 */
export const REALTIME_PROCESSES = ['worker', 'redis', 'ingest'] as const;
export type RealtimeProcess = (typeof REALTIME_PROCESSES)[number];

/**
 * Above every normal process, which is all it needs to be. Redis and the workers block on their
 * sockets, so they do not spin; were one to, the kernel's RT throttling (sched_rt_runtime_us)
 * still leaves the others 5 % of each core.
 */
export const REALTIME_PRIORITY = 10;
/**
 * Redis one above the Node services: under FIFO a thread keeps its core until it blocks, and with
 * ingest real-time too, ingest and the worker once kept Redis off both cores for seconds (every
 * command timed out, 503s, the run failed). Every apply and append waits for Redis, so it goes first.
 */
export const REDIS_REALTIME_PRIORITY = REALTIME_PRIORITY + 1;

/** Linux's SCHED_FIFO, as /proc/<pid>/task/<tid>/stat gives a thread's policy. */
const SCHED_FIFO = 1;

export function parseRealtime(list: string): RealtimeProcess[] {
  const names = list
    .split(',')
    .map((name) => name.trim())
    .filter((name) => name !== '' && name !== 'none');
  for (const name of names) {
    if (!(REALTIME_PROCESSES as readonly string[]).includes(name))
      throw new Error(`--realtime names processes among ${REALTIME_PROCESSES.join(', ')}, got "${name}"`);
  }
  return [...new Set(names)] as RealtimeProcess[];
}

/**
 * Every thread of a started process under SCHED_FIFO (`chrt -a`: Node's and Redis's helper
 * threads too); threads it starts later inherit the policy of the thread that starts them.
 */
export function makeRealtime(pid: number | undefined, priority: number): void {
  // chrt -p 0 would be this process, the load generator, which stays at normal priority.
  if (pid === undefined || pid <= 0) throw new Error('--realtime: a process to make real-time has no pid');
  const chrt = spawnSync('chrt', ['-a', '-f', '-p', String(priority), String(pid)], { encoding: 'utf8' });
  if (chrt.status !== 0)
    throw new Error(`chrt -a -f -p ${priority} ${pid} failed (${chrt.error?.message ?? chrt.stderr.trim()}); --realtime needs root`);
}

/** A process's threads, and how many of them run under SCHED_FIFO: all should, checked at the end of a run. */
export function realtimeThreads(pid: number): { threads: number; fifo: number } {
  let threads = 0;
  let fifo = 0;
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return { threads, fifo }; // the process has exited
  }
  for (const tid of tids) {
    try {
      // The fields after the command's closing parenthesis; the policy is field 41 of the line.
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(') ') + 2).split(' ');
      threads++;
      if (Number(fields[41 - 3]) === SCHED_FIFO) fifo++;
    } catch {
      // the thread has exited
    }
  }
  return { threads, fifo };
}

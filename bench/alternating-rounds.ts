/**
 * Two ingest processes on the same Redis measured in alternated wrk rounds, so drift on a
 * shared machine hits both alike (the comparisons beside the main table: with and without a
 * token, with and without waiting for a replica). Besides requests/s, each process's own CPU
 * time per request, which other load on the machine disturbs less.
 */
import type { ChildProcess } from 'node:child_process';
import { processCpuUs } from './process-cpu';
import { wrk, type WrkResult } from './tools';

export interface RoundTarget {
  url: string;
  child: ChildProcess;
  /** Bearer token the wrk script sends (none: the API is open). */
  token?: string;
}

export interface WrkSide {
  /** One wrk result per round. */
  rounds: WrkResult[];
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  non2xx: number;
  /** Ingest CPU (user + system) per request over the measured phases, microseconds. */
  cpuUsPerRequest: number;
}

export interface RoundsOptions {
  rounds: number;
  connections: number;
  seconds: number;
  /** The wrk script in bench/ (post.lua, post-batch.lua). */
  script: string;
  /** Run after each round (e.g. wait until the workers drained it). */
  after(): Promise<void>;
  log(line: string): void;
}

function side(rounds: WrkResult[], cpu: number): WrkSide {
  const requests = rounds.reduce((sum, r) => sum + r.requests, 0);
  const mean = (f: (r: WrkResult) => number) => rounds.reduce((sum, r) => sum + f(r), 0) / rounds.length;
  return {
    rounds,
    requestsPerSecond: mean((r) => r.requestsPerSecond),
    p50Ms: mean((r) => r.p50Ms),
    p99Ms: mean((r) => r.p99Ms),
    non2xx: rounds.reduce((sum, r) => sum + r.non2xx, 0),
    cpuUsPerRequest: requests > 0 ? cpu / requests : NaN,
  };
}

/** A 2 s warm-up of each, then `rounds` rounds, the order swapped every round. */
export async function alternatingRounds<Name extends string>(
  targets: Record<Name, RoundTarget>,
  order: readonly [Name, Name],
  options: RoundsOptions,
): Promise<Record<Name, WrkSide>> {
  const { connections, seconds, script } = options;
  for (const name of order) await wrk(targets[name].url, { connections, seconds: 2, script, token: targets[name].token });
  const results = new Map<Name, WrkResult[]>(order.map((name) => [name, []]));
  const cpu = new Map<Name, number>(order.map((name) => [name, 0]));
  for (let round = 0; round < options.rounds; round++) {
    for (const name of round % 2 === 0 ? order : [order[1], order[0]]) {
      const target = targets[name];
      options.log(`round ${round + 1}: ${name}, wrk -c${connections} ${script} ${seconds} s`);
      const before = processCpuUs(target.child.pid!);
      results.get(name)!.push(await wrk(target.url, { connections, seconds, script, token: target.token }));
      cpu.set(name, cpu.get(name)! + processCpuUs(target.child.pid!) - before);
      await options.after();
    }
  }
  return Object.fromEntries(order.map((name) => [name, side(results.get(name)!, cpu.get(name)!)])) as Record<Name, WrkSide>;
}

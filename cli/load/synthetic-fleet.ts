/**
 * A synthetic fleet's samples, built once as JSON strings so that sending costs a join, not a
 * serialisation: node i reports one node sample and then one sample per process, in a cycle.
 */

const PROCESS_POOL = [
  'nginx',
  'postgres',
  'redis-server',
  'node',
  'java',
  'python3',
  'sshd',
  'systemd',
  'containerd',
  'kubelet',
  'envoy',
  'chrome',
];

export interface FleetOptions {
  nodes: number;
  /** Process samples per node sample. */
  processes: number;
  timeslice: number;
  /** Node names are `<prefix>-<i>`. */
  prefix: string;
}

export interface Slice {
  body: string;
  samples: number;
  nodeSamples: number;
}

/** Process names used by the fleet (node i runs processes i..i+P-1 of the pool, wrapping). */
export function fleetProcessNames(processes: number): string[] {
  return Array.from({ length: Math.min(processes, PROCESS_POOL.length) }, (_, i) => PROCESS_POOL[i]!).concat(
    Array.from({ length: Math.max(0, processes - PROCESS_POOL.length) }, (_, i) => `proc-${i}`),
  );
}

export class SyntheticFleet {
  private readonly items: string[] = [];
  private readonly period: number;
  private cursor = 0;

  constructor(readonly options: FleetOptions) {
    this.period = 1 + options.processes;
    const names = fleetProcessNames(options.processes);
    const two = (v: number) => Math.round(v * 100) / 100;
    for (let i = 0; i < options.nodes; i++) {
      const node = `${options.prefix}-${i}`;
      this.items.push(
        `{"node":"${node}","timeslice":${options.timeslice},"cpu":${two(Math.random() * 100)},"mem":${two(Math.random() * 100)}}`,
      );
      for (let p = 0; p < options.processes; p++) {
        const name = names[(i + p) % names.length]!;
        this.items.push(
          `{"node":"${node}","process":"${name}","timeslice":${options.timeslice},"cpu_used":${two(Math.random() * 200)},"mem_used":${two(Math.random() * 2048)}}`,
        );
      }
    }
  }

  /** How many node samples lie in [start, start + n) of the endless cycle. */
  private nodeSamplesIn(start: number, n: number): number {
    const upTo = (k: number) => Math.ceil(k / this.period); // multiples of the period below k
    return upTo(start + n) - upTo(start);
  }

  /** The next n samples as a JSON array body. */
  next(n: number): Slice {
    const parts: string[] = [];
    let taken = 0;
    while (taken < n) {
      const from = (this.cursor + taken) % this.items.length;
      const count = Math.min(n - taken, this.items.length - from);
      parts.push(this.items.slice(from, from + count).join(','));
      taken += count;
    }
    const nodeSamples = this.nodeSamplesIn(this.cursor % this.items.length, n);
    this.cursor = (this.cursor + n) % this.items.length;
    return { body: `[${parts.join(',')}]`, samples: n, nodeSamples };
  }
}

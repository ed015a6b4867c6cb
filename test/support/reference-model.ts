/**
 * README's window semantics computed directly from raw samples: the independent answer key the
 * aggregates are checked against.
 */
export interface RawNodeSample {
  node: string;
  at: number;
  timeslice: number;
  cpu: number;
  mem: number;
}

export interface RawProcessSample {
  node: string;
  process: string;
  at: number;
  timeslice: number;
  cpu_used: number;
  mem_used: number;
}

interface Windowed {
  at: number;
  timeslice: number;
}

function windowOf<T extends Windowed>(samples: readonly T[], q: number): { inWindow: T[]; latest: number } | null {
  if (samples.length === 0) return null;
  const latest = Math.max(...samples.map((s) => s.at));
  return { inWindow: samples.filter((s) => s.at > latest - q * 1000 && s.at <= latest), latest };
}

function answeredTimeslice(inWindow: readonly Windowed[], latest: number, q: number): number {
  const earliestStart = Math.min(...inWindow.map((s) => s.at - s.timeslice * 1000));
  return Math.min(q, (latest - earliestStart) / 1000);
}

function weightedMean<T extends Windowed>(samples: readonly T[], value: (s: T) => number): number {
  let sum = 0;
  let weight = 0;
  for (const s of samples) {
    sum += value(s) * s.timeslice;
    weight += s.timeslice;
  }
  return sum / weight;
}

export function expectedFleetAverage(samples: readonly RawNodeSample[], q: number) {
  const w = windowOf(samples, q);
  if (!w) return { timeslice: 0, cpu_used: null, mem_used: null };
  return {
    timeslice: answeredTimeslice(w.inWindow, w.latest, q),
    cpu_used: weightedMean(w.inWindow, (s) => s.cpu),
    mem_used: weightedMean(w.inWindow, (s) => s.mem),
  };
}

export function expectedProcess(samples: readonly RawProcessSample[], name: string, q: number) {
  const w = windowOf(
    samples.filter((s) => s.process === name),
    q,
  );
  if (!w) return null;
  return {
    timeslice: answeredTimeslice(w.inWindow, w.latest, q),
    cpu_used: weightedMean(w.inWindow, (s) => s.cpu_used),
    mem_used: weightedMean(w.inWindow, (s) => s.mem_used),
    num_instances: new Set(w.inWindow.map((s) => s.node)).size,
  };
}

export function expectedProcessList(samples: readonly RawProcessSample[], q: number) {
  const w = windowOf(samples, q);
  if (!w) return { timeslice: 0, processes: [] };
  const names = [...new Set(w.inWindow.map((s) => s.process))].sort();
  return {
    timeslice: answeredTimeslice(w.inWindow, w.latest, q),
    processes: names.map((name) => ({ name, url: `/v1/analytics/processes/${encodeURIComponent(name)}/` })),
  };
}

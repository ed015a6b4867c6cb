/** Builders for samples with whole-second times (bucket-exact). */
import type { RawNodeSample, RawProcessSample } from './reference-model';

/** A whole second a little in the past, so every sample lies within retention. */
export function baseTime(): number {
  return Math.floor(Date.now() / 1000) * 1000 - 20 * 60 * 1000;
}

export function buildNodeSample(overrides: Partial<RawNodeSample> = {}): RawNodeSample {
  return { node: 'node-1', at: baseTime(), timeslice: 10, cpu: 20, mem: 30, ...overrides };
}

export function buildProcessSample(overrides: Partial<RawProcessSample> = {}): RawProcessSample {
  return { node: 'node-1', process: 'nginx', at: baseTime(), timeslice: 10, cpu_used: 12.5, mem_used: 256, ...overrides };
}

export const asNodeItem = (s: RawNodeSample) => ({ node: s.node, at: s.at, timeslice: s.timeslice, cpu: s.cpu, mem: s.mem });
export const asProcessItem = (s: RawProcessSample) => ({
  node: s.node,
  process: s.process,
  at: s.at,
  timeslice: s.timeslice,
  cpu_used: s.cpu_used,
  mem_used: s.mem_used,
});

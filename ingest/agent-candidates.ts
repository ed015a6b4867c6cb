/**
 * Samples built from another agent's format (OTLP, collectd) before validation: each one in
 * the item form of POST /v1/samples, with how many of the agent's values it came from, so
 * that rejected samples can be counted in the agent's own units.
 */
import { ValidationError } from '../shared/errors';
import { parseBatch, type Sample, type ValidationContext } from '../shared/samples';

export interface Candidate {
  item: { node: string; process?: string; timeslice: number; at: number } & (
    { cpu: number; mem: number } | { cpu_used: number; mem_used: number }
  );
  /** The agent's values (data points, value lists) this sample was built from. */
  units: number;
}

export interface Rejection {
  units: number;
  reason: string;
}

/**
 * Runs every candidate through the validation of POST /v1/samples (parseBatch itself, one
 * item at a time, since here an invalid sample is rejected alone); invalid ones become rejections.
 */
export function validateCandidates(
  candidates: readonly Candidate[],
  ctx: ValidationContext,
): { samples: Sample[]; rejections: Rejection[] } {
  const samples: Sample[] = [];
  const rejections: Rejection[] = [];
  for (const candidate of candidates) {
    try {
      samples.push(parseBatch([candidate.item], ctx)[0]!);
    } catch (error) {
      if (!(error instanceof ValidationError)) throw error;
      const { item } = candidate;
      const what = item.process === undefined ? `node ${item.node}` : `process ${item.process} on ${item.node}`;
      rejections.push({ units: candidate.units, reason: `${what}: ${error.details?.[0]?.message ?? 'invalid sample'}` });
    }
  }
  return { samples, rejections };
}

/** One short message for many rejections: each distinct reason once, with a count, bounded in length. */
export function summarizeRejections(rejections: readonly Rejection[], unit: string): string {
  const byReason = new Map<string, number>();
  for (const r of rejections) byReason.set(r.reason, (byReason.get(r.reason) ?? 0) + r.units);
  const parts = [...byReason].map(([reason, units]) => `${units} ${unit}${units === 1 ? '' : 's'}: ${reason}`);
  let message = '';
  for (const part of parts) {
    if (message.length + part.length > 2000) return `${message}; and ${byReason.size - message.split('; ').length} more reasons`;
    message = message ? `${message}; ${part}` : part;
  }
  return message;
}

export function clampPercent(value: number): number {
  return Math.min(100, Math.max(0, value));
}

/**
 * Samples built from another agent's format (OTLP, collectd) before validation: each one in
 * the item form of POST /v1/samples, with how many of the agent's values it came from, so
 * that rejected samples can be counted in the agent's own units.
 */
import { checkItems, type Sample, type ValidationContext } from '../shared/samples';

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

/** Runs every candidate through the validation of POST /v1/samples; invalid ones become rejections. */
export function validateCandidates(
  candidates: readonly Candidate[],
  ctx: ValidationContext,
): { samples: Sample[]; rejections: Rejection[] } {
  const { samples, details } = checkItems(
    candidates.map((c) => c.item),
    ctx,
  );
  const reasons = new Map<number, string>();
  for (const detail of details) {
    if (detail.index !== undefined && !reasons.has(detail.index)) reasons.set(detail.index, detail.message);
  }
  const accepted: Sample[] = [];
  const rejections: Rejection[] = [];
  candidates.forEach((candidate, index) => {
    const sample = samples[index];
    if (sample) accepted.push(sample);
    else {
      const what =
        candidate.item.process === undefined
          ? `node ${candidate.item.node}`
          : `process ${candidate.item.process} on ${candidate.item.node}`;
      rejections.push({ units: candidate.units, reason: `${what}: ${reasons.get(index) ?? 'invalid sample'}` });
    }
  });
  return { samples: accepted, rejections };
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

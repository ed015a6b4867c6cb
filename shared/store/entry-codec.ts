/**
 * The stream entry codec. One entry holds the samples of one group of requests for one
 * partition, one tab-separated line per sample, so a group costs one XADD per partition.
 */
import type { Sample } from '../samples';

export const ENTRY_FIELD = 'd';
/** The id of the group that appended the entry, to settle a write whose reply was lost. */
export const GROUP_FIELD = 'r';

export class EntryDecodeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EntryDecodeError';
  }
}

export function encodeSamples(samples: readonly Sample[]): string {
  let out = '';
  for (const s of samples) {
    if (out.length > 0) out += '\n';
    out +=
      s.kind === 'node'
        ? `N\t${s.node}\t${s.at}\t${s.timeslice}\t${s.cpu}\t${s.mem}`
        : `P\t${s.node}\t${s.process}\t${s.at}\t${s.timeslice}\t${s.cpu_used}\t${s.mem_used}`;
  }
  return out;
}

function numberAt(parts: string[], i: number, line: number): number {
  const value = Number(parts[i]);
  if (parts[i] === undefined || parts[i] === '' || !Number.isFinite(value) || value < 0) {
    throw new EntryDecodeError(`line ${line}: field ${i} is not a non-negative number`);
  }
  return value;
}

/**
 * Decodes the fields of one stream entry (as XREADGROUP returns them). Walks the payload
 * with indexOf instead of splitting it into lines and each line into fields: the arrays that
 * splitting allocates were a fifth of the worker's decoding.
 */
export function decodeEntry(fields: readonly string[]): Sample[] {
  let payload: string | undefined;
  for (let i = 0; i + 1 < fields.length; i += 2) {
    if (fields[i] === ENTRY_FIELD) payload = fields[i + 1];
  }
  if (payload === undefined) throw new EntryDecodeError(`entry has no "${ENTRY_FIELD}" field`);
  const samples: Sample[] = [];
  const parts: string[] = [];
  let start = 0;
  for (let n = 0; start <= payload.length; n++) {
    let end = payload.indexOf('\n', start);
    if (end === -1) end = payload.length;
    parts.length = 0;
    let from = start;
    let tab = payload.indexOf('\t', from);
    while (tab !== -1 && tab < end) {
      parts.push(payload.slice(from, tab));
      from = tab + 1;
      tab = payload.indexOf('\t', from);
    }
    parts.push(payload.slice(from, end));
    start = end + 1;
    if (parts[0] === 'N' && parts.length === 6) {
      samples.push({
        kind: 'node',
        node: parts[1]!,
        at: numberAt(parts, 2, n),
        timeslice: numberAt(parts, 3, n),
        cpu: numberAt(parts, 4, n),
        mem: numberAt(parts, 5, n),
      });
    } else if (parts[0] === 'P' && parts.length === 7) {
      samples.push({
        kind: 'process',
        node: parts[1]!,
        process: parts[2]!,
        at: numberAt(parts, 3, n),
        timeslice: numberAt(parts, 4, n),
        cpu_used: numberAt(parts, 5, n),
        mem_used: numberAt(parts, 6, n),
      });
    } else {
      throw new EntryDecodeError(`line ${n}: not a node or process sample`);
    }
    const last = samples[samples.length - 1]!;
    if (last.node === '' || last.timeslice <= 0) throw new EntryDecodeError(`line ${n}: empty node or zero timeslice`);
  }
  return samples;
}

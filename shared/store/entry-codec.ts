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

const TAB = 9;
const NODE_KIND = 0x4e; // N
const PROCESS_KIND = 0x50; // P
/** Powers of ten a double holds exactly. */
const POWERS_OF_TEN = Array.from({ length: 16 }, (_, k) => 10 ** k);

/**
 * The non-negative number in payload[from, to). Plain integers and decimals of up to 15
 * digits, what encodeSamples mostly writes, are read in place: their digits and the power of
 * ten are exact doubles, so one division rounds as Number() does. Anything else (an exponent,
 * more digits, signs, spaces) goes through Number(). Number() of a fresh slice was most of
 * the worker's decoding.
 */
function numberIn(payload: string, from: number, to: number, line: number, field: number): number {
  let mantissa = 0;
  let digits = 0;
  let decimals = -1;
  let i = from;
  for (; i < to; i++) {
    const c = payload.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      mantissa = mantissa * 10 + (c - 48);
      digits++;
      if (decimals >= 0) decimals++;
    } else if (c === 46 && decimals < 0 && i > from) decimals = 0;
    else break;
  }
  if (i === to && digits > 0 && digits <= 15 && decimals !== 0) return decimals > 0 ? mantissa / POWERS_OF_TEN[decimals]! : mantissa;
  const value = Number(payload.slice(from, to));
  if (from === to || !Number.isFinite(value) || value < 0) {
    throw new EntryDecodeError(`line ${line}: field ${field} is not a non-negative number`);
  }
  return value;
}

/** Where the tab that ends the field starting at `from` lies, within the line ending at `end`; -1 when the line ends first. */
function tabAfter(payload: string, from: number, end: number): number {
  const tab = payload.indexOf('\t', from);
  return tab !== -1 && tab < end ? tab : -1;
}

/**
 * Decodes the fields of one stream entry (as XREADGROUP returns them). Walks the payload
 * with indexOf instead of splitting it into lines and each line into fields (the arrays
 * that splitting allocates were a fifth of the worker's decoding), and reads the numbers in
 * place (numberIn).
 */
export function decodeEntry(fields: readonly string[]): Sample[] {
  let payload: string | undefined;
  for (let i = 0; i + 1 < fields.length; i += 2) {
    if (fields[i] === ENTRY_FIELD) payload = fields[i + 1];
  }
  if (payload === undefined) throw new EntryDecodeError(`entry has no "${ENTRY_FIELD}" field`);
  const samples: Sample[] = [];
  const malformed = (n: number) => new EntryDecodeError(`line ${n}: not a node or process sample`);
  let start = 0;
  // A node's samples mostly follow one another: its name is then taken as the same string,
  // with no copy, and the planner's lookups by node compare one pointer instead of the text.
  let lastNode = '';
  for (let n = 0; start <= payload.length; n++) {
    let end = payload.indexOf('\n', start);
    if (end === -1) end = payload.length;
    const kind = payload.charCodeAt(start);
    if ((kind !== NODE_KIND && kind !== PROCESS_KIND) || payload.charCodeAt(start + 1) !== TAB || start + 1 >= end) throw malformed(n);
    // The tabs after the kind: 5 in a node sample's line, 6 in a process sample's, no more.
    const t1 = tabAfter(payload, start + 2, end);
    const t2 = t1 === -1 ? -1 : tabAfter(payload, t1 + 1, end);
    const t3 = t2 === -1 ? -1 : tabAfter(payload, t2 + 1, end);
    const t4 = t3 === -1 ? -1 : tabAfter(payload, t3 + 1, end);
    const t5 = t4 === -1 ? -1 : tabAfter(payload, t4 + 1, end);
    if (t4 === -1) throw malformed(n);
    const node =
      t1 - start - 2 === lastNode.length && payload.startsWith(lastNode, start + 2) ? lastNode : (lastNode = payload.slice(start + 2, t1));
    let sample: Sample;
    if (kind === NODE_KIND) {
      if (t5 !== -1) throw malformed(n);
      sample = {
        kind: 'node',
        node,
        at: numberIn(payload, t1 + 1, t2, n, 2),
        timeslice: numberIn(payload, t2 + 1, t3, n, 3),
        cpu: numberIn(payload, t3 + 1, t4, n, 4),
        mem: numberIn(payload, t4 + 1, end, n, 5),
      };
    } else {
      if (t5 === -1 || tabAfter(payload, t5 + 1, end) !== -1) throw malformed(n);
      sample = {
        kind: 'process',
        node,
        process: payload.slice(t1 + 1, t2),
        at: numberIn(payload, t2 + 1, t3, n, 3),
        timeslice: numberIn(payload, t3 + 1, t4, n, 4),
        cpu_used: numberIn(payload, t4 + 1, t5, n, 5),
        mem_used: numberIn(payload, t5 + 1, end, n, 6),
      };
    }
    if (node === '' || sample.timeslice <= 0) throw new EntryDecodeError(`line ${n}: empty node or zero timeslice`);
    samples.push(sample);
    start = end + 1;
  }
  return samples;
}

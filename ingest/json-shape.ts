/**
 * One linear pass over a JSON text before it is parsed: refuses duplicate keys (JSON.parse
 * silently keeps the last), objects with more fields than any sample has, nesting deeper
 * than any body needs, and top-level arrays longer than a batch may be. It stops at the
 * first problem, so a hostile body costs one scan and a small answer, never a huge parse.
 * Malformed JSON is left to JSON.parse, which runs afterwards and reports it.
 */
import { PayloadTooLargeError, ValidationError } from '../shared/errors';

export const MAX_OBJECT_FIELDS = 64;
export const MAX_NESTING = 32;

export interface ShapeLimits {
  /** Most elements of a top-level array (the batch size); no bound when left out. */
  maxItems?: number;
  /** Index of this document in a batch (an NDJSON line), for the error's details. */
  index?: number;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
/** An object with up to this many keys is checked for repeats by a linear look; a larger one by a Set. */
const LINEAR_KEYS = 8;
const ARRAY = -1;

/**
 * The scan's state, reused by every call (the scan is synchronous, so calls never overlap):
 * checking a small sample allocates nothing but its key strings.
 */
const keys: string[] = []; // the keys of every open object, outermost first
const firstKeyAt: number[] = []; // per open container: where its keys start in `keys`, or ARRAY
const expectKey: boolean[] = []; // per open object: the next string is a key
const keySets: (Set<string> | undefined)[] = []; // per depth: the keys of an object past LINEAR_KEYS

const NO_LIMITS: ShapeLimits = {};

export function checkJsonShape(text: string, limits: ShapeLimits = NO_LIMITS): void {
  try {
    scan(text, limits);
  } finally {
    // Hold no request's text between calls.
    keys.length = 0;
    for (const set of keySets) set?.clear();
  }
}

function scan(text: string, limits: ShapeLimits): void {
  let depth = 0;
  let topIndex = 0; // index of the current element when the document is an array
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      let end = i + 1;
      let escaped = false;
      while (end < text.length) {
        const d = text.charCodeAt(end);
        if (d === BACKSLASH) {
          escaped = true;
          end += 2;
          continue;
        }
        if (d === QUOTE) break;
        end++;
      }
      const frame = depth - 1;
      if (frame >= 0 && firstKeyAt[frame] !== ARRAY && expectKey[frame]) {
        const key = escaped ? decodeKey(text.slice(i, end + 1)) : text.slice(i + 1, end);
        if (key === undefined) return; // malformed: JSON.parse will say where
        addKey(key, frame, limits, topIndex);
        expectKey[frame] = false;
      }
      i = end;
    } else if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      if (depth >= MAX_NESTING) {
        throw new ValidationError(`The body is nested deeper than ${MAX_NESTING} levels; nothing was stored.`, [
          { ...where(limits, depth, topIndex), message: `at most ${MAX_NESTING} levels of nesting` },
        ]);
      }
      firstKeyAt[depth] = c === 0x7b ? keys.length : ARRAY;
      expectKey[depth] = c === 0x7b;
      keySets[depth]?.clear();
      depth++;
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      if (depth === 0) continue;
      depth--;
      if (firstKeyAt[depth] !== ARRAY) keys.length = firstKeyAt[depth]!;
    } else if (c === 0x2c /* , */) {
      if (depth === 0) continue;
      if (firstKeyAt[depth - 1] !== ARRAY) expectKey[depth - 1] = true;
      else if (depth === 1) {
        topIndex++;
        if (limits.maxItems !== undefined && topIndex >= limits.maxItems) {
          throw new PayloadTooLargeError(`A batch holds at most ${limits.maxItems} samples; this one has more. Split it.`);
        }
      }
    }
  }
}

/** Which element a detail is about: the NDJSON line, or the element of a top-level array. */
function where(limits: ShapeLimits, depth: number, topIndex: number): { index?: number } {
  if (limits.index !== undefined) return { index: limits.index };
  return depth > 0 && firstKeyAt[0] === ARRAY ? { index: topIndex } : {};
}

/** Records a key of the object at `frame`, refusing a repeat or one key too many. */
function addKey(key: string, frame: number, limits: ShapeLimits, topIndex: number): void {
  const first = firstKeyAt[frame]!;
  const count = keys.length - first;
  let repeated: boolean;
  if (count < LINEAR_KEYS) {
    repeated = false;
    for (let k = first; k < keys.length; k++) {
      if (keys[k] === key) {
        repeated = true;
        break;
      }
    }
  } else {
    let set = keySets[frame];
    if (set === undefined) set = keySets[frame] = new Set();
    if (count === LINEAR_KEYS) for (let k = first; k < keys.length; k++) set.add(keys[k]!);
    repeated = set.has(key);
    set.add(key);
  }
  if (repeated) {
    throw new ValidationError('A field appears twice in the same object; nothing was stored.', [
      { ...where(limits, frame + 1, topIndex), field: key, message: `${key} appears more than once` },
    ]);
  }
  keys.push(key);
  if (count + 1 > MAX_OBJECT_FIELDS) {
    throw new ValidationError(`An object has more than ${MAX_OBJECT_FIELDS} fields; nothing was stored.`, [
      { ...where(limits, frame + 1, topIndex), message: `at most ${MAX_OBJECT_FIELDS} fields per object (no sample has more than 7)` },
    ]);
  }
}

function decodeKey(quoted: string): string | undefined {
  try {
    const key: unknown = JSON.parse(quoted);
    return typeof key === 'string' ? key : undefined;
  } catch {
    return undefined;
  }
}

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
 * The scan's state, reused by every call (the scan is synchronous, so calls never overlap).
 * A key is kept as where it lies in the text, and compared there: checking a batch allocates
 * nothing per key but for a key with escapes (decoded) or an object past LINEAR_KEYS.
 */
let source = ''; // the text being scanned
/** Keys open at once: at most MAX_OBJECT_FIELDS + 1 (the one refused) in each of MAX_NESTING objects. */
const KEY_CAPACITY = MAX_NESTING * (MAX_OBJECT_FIELDS + 1);
let keyCount = 0; // keys of every open object, outermost first
const keyFrom = new Int32Array(KEY_CAPACITY); // per key: where its characters start
const keyTo = new Int32Array(KEY_CAPACITY); // ... and end (exclusive)
const keyDecoded: (string | undefined)[] = new Array<string | undefined>(KEY_CAPACITY).fill(undefined); // ... its decoded text when it has escapes
const firstKeyAt = new Int32Array(MAX_NESTING); // per open container: where its keys start, or ARRAY
const expectKey = new Uint8Array(MAX_NESTING); // per open object: 1 when the next string is a key
const keySets: (Set<string> | undefined)[] = []; // per depth: the keys of an object past LINEAR_KEYS

const NO_LIMITS: ShapeLimits = {};

export function checkJsonShape(text: string, limits: ShapeLimits = NO_LIMITS): void {
  source = text;
  try {
    scan(text, limits);
  } finally {
    // Hold no request's text between calls.
    source = '';
    for (let k = 0; k < keyCount; k++) keyDecoded[k] = undefined;
    keyCount = 0;
    for (const set of keySets) set?.clear();
  }
}

function scan(text: string, limits: ShapeLimits): void {
  let depth = 0;
  let topIndex = 0; // index of the current element when the document is an array
  let nextBackslash = -2; // where the next backslash lies (-1: none left); found once, then as strings pass it
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      // indexOf finds the closing quote far faster than a loop; a string with a backslash is walked.
      let end = text.indexOf('"', i + 1);
      if (end === -1) end = text.length;
      if (nextBackslash !== -1 && nextBackslash < i) nextBackslash = text.indexOf('\\', i + 1);
      const escaped = nextBackslash !== -1 && nextBackslash < end;
      if (escaped) {
        end = i + 1;
        while (end < text.length) {
          const d = text.charCodeAt(end);
          if (d === BACKSLASH) {
            end += 2;
            continue;
          }
          if (d === QUOTE) break;
          end++;
        }
      }
      const frame = depth - 1;
      if (frame >= 0 && firstKeyAt[frame] !== ARRAY && expectKey[frame]) {
        let decoded: string | undefined;
        if (escaped) {
          decoded = decodeKey(text.slice(i, end + 1));
          if (decoded === undefined) return; // malformed: JSON.parse will say where
        }
        addKey(i + 1, Math.min(end, text.length), decoded, frame, limits, topIndex);
        expectKey[frame] = 0;
      }
      i = end;
    } else if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      if (depth >= MAX_NESTING) {
        throw new ValidationError(`The body is nested deeper than ${MAX_NESTING} levels; nothing was stored.`, [
          { ...where(limits, depth, topIndex), message: `at most ${MAX_NESTING} levels of nesting` },
        ]);
      }
      firstKeyAt[depth] = c === 0x7b ? keyCount : ARRAY;
      expectKey[depth] = c === 0x7b ? 1 : 0;
      keySets[depth]?.clear();
      depth++;
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      if (depth === 0) continue;
      depth--;
      const first = firstKeyAt[depth]!;
      if (first !== ARRAY) {
        for (let k = first; k < keyCount; k++) keyDecoded[k] = undefined;
        keyCount = first;
      }
    } else if (c === 0x2c /* , */) {
      if (depth === 0) continue;
      if (firstKeyAt[depth - 1] !== ARRAY) expectKey[depth - 1] = 1;
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

/** Key `k`'s text. */
function keyText(k: number): string {
  return keyDecoded[k] ?? source.slice(keyFrom[k], keyTo[k]);
}

/** Whether keys `a` and `b` are the same: compared in the text when neither has escapes. */
function sameKey(a: number, b: number): boolean {
  if (keyDecoded[a] !== undefined || keyDecoded[b] !== undefined) return keyText(a) === keyText(b);
  const aFrom = keyFrom[a]!;
  const bFrom = keyFrom[b]!;
  const length = keyTo[a]! - aFrom;
  if (keyTo[b]! - bFrom !== length) return false;
  for (let j = 0; j < length; j++) if (source.charCodeAt(aFrom + j) !== source.charCodeAt(bFrom + j)) return false;
  return true;
}

/** Records a key of the object at `frame` (its characters from..to, or `decoded`), refusing a repeat or one key too many. */
function addKey(from: number, to: number, decoded: string | undefined, frame: number, limits: ShapeLimits, topIndex: number): void {
  const first = firstKeyAt[frame]!;
  const key = keyCount++;
  const count = key - first;
  keyFrom[key] = from;
  keyTo[key] = to;
  keyDecoded[key] = decoded;
  let repeated = false;
  if (count < LINEAR_KEYS) {
    for (let k = first; k < key; k++) {
      if (sameKey(k, key)) {
        repeated = true;
        break;
      }
    }
  } else {
    let set = keySets[frame];
    if (set === undefined) set = keySets[frame] = new Set();
    if (count === LINEAR_KEYS) for (let k = first; k < key; k++) set.add(keyText(k));
    const text = keyText(key);
    repeated = set.has(text);
    set.add(text);
  }
  if (repeated) {
    const text = keyText(key);
    throw new ValidationError('A field appears twice in the same object; nothing was stored.', [
      { ...where(limits, frame + 1, topIndex), field: text, message: `${text} appears more than once` },
    ]);
  }
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

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

interface Frame {
  keys: Set<string> | undefined; // undefined: an array
  expectKey: boolean;
  count: number;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

export function checkJsonShape(text: string, limits: ShapeLimits = {}): void {
  const stack: Frame[] = [];
  let topIndex = 0; // index of the current element when the document is an array
  const where = () => {
    if (limits.index !== undefined) return { index: limits.index };
    return stack[0] && stack[0].keys === undefined ? { index: topIndex } : {};
  };
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
      const frame = stack[stack.length - 1];
      if (frame?.keys !== undefined && frame.expectKey) {
        const key = escaped ? decodeKey(text.slice(i, end + 1)) : text.slice(i + 1, end);
        if (key === undefined) return; // malformed: JSON.parse will say where
        if (frame.keys.has(key)) {
          throw new ValidationError('A field appears twice in the same object; nothing was stored.', [
            { ...where(), field: key, message: `${key} appears more than once` },
          ]);
        }
        frame.keys.add(key);
        if (frame.keys.size > MAX_OBJECT_FIELDS) {
          throw new ValidationError(`An object has more than ${MAX_OBJECT_FIELDS} fields; nothing was stored.`, [
            { ...where(), message: `at most ${MAX_OBJECT_FIELDS} fields per object (no sample has more than 7)` },
          ]);
        }
        frame.expectKey = false;
      }
      i = end;
    } else if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      if (stack.length >= MAX_NESTING) {
        throw new ValidationError(`The body is nested deeper than ${MAX_NESTING} levels; nothing was stored.`, [
          { ...where(), message: `at most ${MAX_NESTING} levels of nesting` },
        ]);
      }
      stack.push({ keys: c === 0x7b ? new Set() : undefined, expectKey: c === 0x7b, count: 0 });
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      stack.pop();
    } else if (c === 0x2c /* , */) {
      const frame = stack[stack.length - 1];
      if (frame === undefined) continue;
      if (frame.keys !== undefined) frame.expectKey = true;
      else if (stack.length === 1) {
        topIndex++;
        if (limits.maxItems !== undefined && topIndex >= limits.maxItems) {
          throw new PayloadTooLargeError(`A batch holds at most ${limits.maxItems} samples; this one has more. Split it.`);
        }
      }
    }
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

/** The linear pre-parse scan: it agrees with JSON.parse on what it lets through, and finds what JSON.parse hides. */
import fc from 'fast-check';
import { checkJsonShape, MAX_NESTING, MAX_OBJECT_FIELDS } from '../../ingest/json-shape';
import { AppError } from '../../shared/errors';

const refusal = (text: string, limits = {}) => {
  try {
    checkJsonShape(text, limits);
    return undefined;
  } catch (error) {
    return error instanceof AppError ? `${error.status} ${error.details?.[0]?.message ?? error.message}` : String(error);
  }
};

test('any JSON value without repeated keys, small enough, passes', () => {
  fc.assert(
    fc.property(fc.jsonValue({ maxDepth: 6 }), (value) => {
      expect(refusal(JSON.stringify(value))).toBeUndefined();
    }),
    { numRuns: 2000 },
  );
});

test('a repeated key is found however it is spelled or nested', () => {
  expect(refusal('{"a":1,"a":2}')).toBe('422 a appears more than once');
  expect(refusal('{"a":1,"\\u0061":2}')).toBe('422 a appears more than once');
  expect(refusal('{"x":{"a":1,"b":{"a":3},"a":2}}')).toBe('422 a appears more than once');
  expect(refusal('[{"a":1},{"a":1,"b":"a","a":2}]')).toBe('422 a appears more than once');
  expect(refusal('{"a":"\\"a\\"","b":"a"}')).toBeUndefined();
  expect(refusal('{"a":{"a":{"a":1}}}')).toBeUndefined();
});

test('a repeated key is found in objects of any size, and a refusal leaves nothing behind for the next text', () => {
  const fields = (names: string[]) => `{${names.map((name) => `"${name}":0`).join(',')}}`;
  const names = Array.from({ length: MAX_OBJECT_FIELDS }, (_, i) => `f${i}`);
  for (const size of [2, 8, 9, 10, 30, MAX_OBJECT_FIELDS]) {
    for (const repeatOf of [0, Math.floor(size / 2), size - 1]) {
      const own = names.slice(0, size);
      expect(refusal(fields(own))).toBeUndefined();
      expect(refusal(fields([...own, own[repeatOf]!]))).toMatch(/^422 /);
      expect(refusal(`[${fields(own)},${fields([...own.slice(1), own[0]!])}]`)).toBeUndefined();
    }
  }
  expect(refusal(`{"x":${fields(names.slice(0, 20))},"y":${fields(names.slice(0, 20))}}`)).toBeUndefined();
});

test('objects, nesting and top-level arrays are bounded', () => {
  const fields = (n: number) => `{${Array.from({ length: n }, (_, i) => `"f${i}":0`).join(',')}}`;
  expect(refusal(fields(MAX_OBJECT_FIELDS))).toBeUndefined();
  expect(refusal(fields(MAX_OBJECT_FIELDS + 1))).toMatch(/^422 at most 64 fields/);
  expect(refusal(`${'['.repeat(MAX_NESTING)}${']'.repeat(MAX_NESTING)}`)).toBeUndefined();
  expect(refusal(`${'['.repeat(MAX_NESTING + 1)}${']'.repeat(MAX_NESTING + 1)}`)).toMatch(/^422 at most 32 levels/);
  expect(refusal('[1,2,3]', { maxItems: 3 })).toBeUndefined();
  expect(refusal('[1,2,3,4]', { maxItems: 3 })).toMatch(/^413 /);
  expect(refusal('[[1,2,3,4]]', { maxItems: 3 })).toBeUndefined();
});

test('malformed text is left to JSON.parse (no throw, no hang)', () => {
  fc.assert(
    fc.property(fc.string({ maxLength: 200 }), (text) => {
      const result = refusal(text);
      expect(result === undefined || /^4\d\d /.test(result)).toBe(true);
    }),
    { numRuns: 2000 },
  );
  expect(refusal('{"a')).toBeUndefined();
  expect(refusal('{"a\\')).toBeUndefined();
});

test('a key list is refused exactly when it repeats a key, whatever its length', () => {
  fc.assert(
    fc.property(fc.array(fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz'.split('')), { maxLength: 30 }), (names) => {
      const text = `[{"n":{${names.map((name) => `"${name}":[1]`).join(',')}}}]`;
      expect(refusal(text) !== undefined).toBe(new Set(names).size !== names.length);
    }),
    { numRuns: 2000 },
  );
});

test('keys spelled with escapes or any characters are told apart and matched as JSON.parse reads them', () => {
  const spellings = (key: string): string[] => {
    const plain = JSON.stringify(key);
    const escapedFirst =
      key.length > 0 ? `"\\u${key.charCodeAt(0).toString(16).padStart(4, '0')}${plain.slice(1 + (plain[1] === '\\' ? 2 : 1))}` : plain;
    return [plain, escapedFirst];
  };
  // Few characters, so keys repeat often, in either spelling.
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.string({ maxLength: 2, unit: fc.constantFrom('a', 'b', 'é', '\n', '"', '\\', '\u0000', '😀') }), fc.boolean()), {
        maxLength: 12,
      }),
      (keys) => {
        const quoted = keys.map(([key, escape]) => spellings(key)[escape ? 1 : 0]!);
        const text = `[{"n":{${quoted.map((q) => `${q}:1`).join(',')}}}]`;
        // Only texts JSON.parse reads the same way: the scan judges the keys it would keep.
        const parsed = quoted.map((q) => {
          try {
            return JSON.parse(q) as string;
          } catch {
            return undefined;
          }
        });
        if (parsed.some((key) => key === undefined)) return;
        expect(refusal(text) !== undefined).toBe(new Set(parsed).size !== parsed.length);
      },
    ),
    { numRuns: 3000 },
  );
});

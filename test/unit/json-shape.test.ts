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

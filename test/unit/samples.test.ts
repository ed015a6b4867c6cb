import fc from 'fast-check';
import { decodeEntry, encodeSamples, EntryDecodeError, ENTRY_FIELD } from '../../shared/store/entry-codec';
import { ValidationError } from '../../shared/errors';
import { parseBatch, parseNodeBody, parseProcessBody, type NodeSample, type Sample } from '../../shared/samples';

const ctx = { receivedAt: Date.UTC(2026, 0, 1), maxFutureSkewMs: 60_000 };

describe('sample validation', () => {
  test('a node body without "at" takes the receive time', () => {
    expect(parseNodeBody('n1', { timeslice: 10, cpu: 1, mem: 2 }, ctx)).toEqual({
      kind: 'node',
      node: 'n1',
      at: ctx.receivedAt,
      timeslice: 10,
      cpu: 1,
      mem: 2,
    });
  });

  test('"at" may be epoch ms or RFC 3339', () => {
    const iso = new Date(ctx.receivedAt - 1000).toISOString();
    expect(parseProcessBody('n1', 'p', { timeslice: 1, cpu_used: 250, mem_used: 3, at: iso }, ctx).at).toBe(ctx.receivedAt - 1000);
  });

  test('every problem is reported with its field', () => {
    try {
      parseNodeBody('bad name', { timeslice: -1, cpu: 200, extra: 1 }, ctx);
      throw new Error('expected a ValidationError');
    } catch (error) {
      expect(error).toBeInstanceOf(ValidationError);
      const fields = (error as ValidationError).details!.map((d) => d.field).sort();
      expect(fields).toEqual(['cpu', 'extra', 'mem', 'nodename', 'timeslice']);
    }
  });

  test('a batch reports the indexes of bad items and accepts none', () => {
    expect(() => parseBatch([{ node: 'a', timeslice: 1, cpu: 1, mem: 1 }, 'x'], ctx)).toThrow(ValidationError);
  });
});

describe('entry codec', () => {
  test('round-trips node and process samples', () => {
    const samples: Sample[] = [
      { kind: 'node', node: 'n.1', at: 1_700_000_000_123, timeslice: 0.5, cpu: 12.25, mem: 99.999 },
      { kind: 'process', node: 'n.1', process: 'java (gc) /x', at: 1_700_000_000_000, timeslice: 10, cpu_used: 350, mem_used: 4096.5 },
    ];
    expect(decodeEntry([ENTRY_FIELD, encodeSamples(samples)])).toEqual(samples);
  });

  test('any samples come back from an entry as they went in, numbers bit for bit', () => {
    const value = fc.double({ min: 0, noNaN: true, noDefaultInfinity: true }).map((v) => (Object.is(v, -0) ? 0 : v));
    const name = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,20}$/);
    const sample: fc.Arbitrary<Sample> = fc.oneof(
      fc.record({
        kind: fc.constant('node' as const),
        node: name,
        at: fc.nat(),
        timeslice: value.filter((v) => v > 0),
        cpu: value,
        mem: value,
      }),
      fc.record({
        kind: fc.constant('process' as const),
        node: name,
        process: fc.stringMatching(/^[A-Za-z0-9._ ()-]{1,20}$/),
        at: fc.nat(),
        timeslice: value.filter((v) => v > 0),
        cpu_used: value,
        mem_used: value,
      }),
    );
    fc.assert(
      fc.property(fc.array(sample, { minLength: 1, maxLength: 20 }), (samples) => {
        expect(decodeEntry([ENTRY_FIELD, encodeSamples(samples)])).toEqual(samples);
      }),
      { numRuns: 2000 },
    );
  });

  test('consecutive samples of one node, and names of one length or one prefix, each decode to their own node', () => {
    // The decoder reuses the last node's name when the next is the same: names that share a
    // length or a prefix must never be taken for it.
    const node = fc.constantFrom('n1', 'n2', 'n12', 'n1x', 'n', 'xn1');
    const sample: fc.Arbitrary<Sample> = fc.oneof(
      fc.record({ kind: fc.constant('node' as const), node, at: fc.nat(), timeslice: fc.constant(10), cpu: fc.nat(), mem: fc.nat() }),
      fc.record({
        kind: fc.constant('process' as const),
        node,
        process: fc.constantFrom('n1', 'nginx'),
        at: fc.nat(),
        timeslice: fc.constant(10),
        cpu_used: fc.nat(),
        mem_used: fc.nat(),
      }),
    );
    fc.assert(
      fc.property(fc.array(sample, { minLength: 1, maxLength: 30 }), (samples) => {
        expect(decodeEntry([ENTRY_FIELD, encodeSamples(samples)])).toEqual(samples);
      }),
      { numRuns: 2000 },
    );
  });

  test('a number in an entry reads as Number() reads its text, however many digits it has', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[0-9]{1,20}(\.[0-9]{1,20})?$/), (text) => {
        const sample = decodeEntry([ENTRY_FIELD, `N\tn\t${text}\t1\t${text}\t1`])[0] as NodeSample;
        expect(Object.is(sample.cpu, Number(text))).toBe(true);
        expect(Object.is(sample.at, Number(text))).toBe(true);
      }),
      { numRuns: 5000 },
    );
    for (const text of [
      '1e21',
      '5e-324',
      '0.1',
      '0.30000000000000004',
      '999999999999999',
      '9999999999999999',
      '007',
      '12.',
      '1.50',
      ' 3',
      '0x10',
      '-0',
    ]) {
      const sample = decodeEntry([ENTRY_FIELD, `N\tn\t1\t1\t${text}\t1`])[0] as NodeSample;
      expect(Object.is(sample.cpu, Number(text))).toBe(true);
    }
  });

  test.each([
    [['x', 'y']],
    [[ENTRY_FIELD, 'Q\tfoo']],
    [[ENTRY_FIELD, 'N\tn\tabc\t1\t1\t1']],
    [[ENTRY_FIELD, 'N\tn\t1\t0\t1\t1']],
    [[ENTRY_FIELD, 'P\tn\tp\t1\t1\t1']],
    [[ENTRY_FIELD, 'N\tn\t1\t1\t1\t1\t1']],
    [[ENTRY_FIELD, 'P\tn\tp\t1\t1\t1\t1\t']],
    [[ENTRY_FIELD, 'N\tn\t1\t1\t1\t1\nP\tn\tp\t1\t1\t1']],
    [[ENTRY_FIELD, 'N\tn\t1\t1\t1\t1\n']],
    [[ENTRY_FIELD, 'N\t\t1\t1\t1\t1']],
    [[ENTRY_FIELD, 'N\tn\t1\t1\t-1\t1']],
    [[ENTRY_FIELD, 'N\tn\t1\t1\t\t1']],
    [[ENTRY_FIELD, '']],
    [[ENTRY_FIELD, 'N\tn\t1\t1\t1\t-1']],
    [[ENTRY_FIELD, 'N\tn\t1\t1\t1\tInfinity']],
    [[ENTRY_FIELD, 'N\tn\t1\t1\t1\t1.2.3']],
    [[ENTRY_FIELD, 'N\tn\t1\t1\t1\t.']],
    [[ENTRY_FIELD, 'N\tn\t1\t1\t1']],
    [[ENTRY_FIELD, 'N']],
    [[ENTRY_FIELD, 'N\n']],
    [[ENTRY_FIELD, 'NN\tn\t1\t1\t1\t1']],
    [[ENTRY_FIELD, 'N\tn\t1\t1\t1\t1\t']],
    [[ENTRY_FIELD, 'P\tn\tp\t1\t0\t1\t1']],
    [[ENTRY_FIELD, 'P\tn\t\t1\t1\t1\t1\t1']],
  ])('rejects a malformed entry %j', (fields) => {
    expect(() => decodeEntry(fields)).toThrow(EntryDecodeError);
  });
});

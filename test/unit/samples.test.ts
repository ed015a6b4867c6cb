import { decodeEntry, encodeSamples, EntryDecodeError, ENTRY_FIELD } from '../../shared/store/entry-codec';
import { ValidationError } from '../../shared/errors';
import { parseBatch, parseNodeBody, parseProcessBody, type Sample } from '../../shared/samples';

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
  ])('rejects a malformed entry %j', (fields) => {
    expect(() => decodeEntry(fields)).toThrow(EntryDecodeError);
  });
});

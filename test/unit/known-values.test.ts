import { KnownValues } from '../../shared/store/known-values';
import { KnownValuesUse, MIN_FIELDS_JUDGED, PAUSE_CALLS } from '../../shared/store/known-values-use';

describe('known values', () => {
  test('keep the last value written to a field, by kind', () => {
    const known = new KnownValues();
    known.set('bucket', 'hash', 7, Buffer.from('first'));
    known.set('bucket', 'hash', 7, Buffer.from('second'));
    expect(known.get('bucket', 'hash', 7)).toEqual(Buffer.from('second'));
    expect(known.get('bucket', 'hash', '7')).toEqual(Buffer.from('second'));
    expect(known.get('summary', 'hash', 7)).toBeUndefined();
    known.forget('bucket', 'hash', 7);
    expect(known.get('bucket', 'hash', 7)).toBeUndefined();
  });

  test('copy what they keep: a slice of a reply does not keep the reply alive, nor change with it', () => {
    const known = new KnownValues();
    const reply = Buffer.from('a long reply holding the value');
    known.set('summary', 'hash', 'node', reply.subarray(2, 6));
    reply.fill(0);
    expect(known.get('summary', 'hash', 'node')).toEqual(Buffer.from('long'));
  });

  test('hold at most their capacity per kind, the least recently written going first', () => {
    const known = new KnownValues({ bucket: 3, summary: 2 });
    for (const field of [1, 2, 3]) known.set('bucket', 'h', field, Buffer.from([field]));
    known.set('bucket', 'h', 1, Buffer.from([10])); // written again: now the most recent
    known.set('bucket', 'h', 4, Buffer.from([4]));
    expect([1, 2, 3, 4].map((f) => known.get('bucket', 'h', f)?.[0])).toEqual([10, undefined, 3, 4]);
    expect(known.size('bucket')).toBe(3);
    for (const node of ['a', 'b', 'c']) known.set('summary', 's', node, Buffer.from(node));
    expect(known.size('summary')).toBe(2);
    expect(known.get('summary', 's', 'a')).toBeUndefined();
  });

  test('with no room, keep nothing', () => {
    const known = new KnownValues({ bucket: 0, summary: 0 });
    known.set('bucket', 'h', 1, Buffer.from([1]));
    expect(known.size('bucket')).toBe(0);
  });
});

describe('the use of known values', () => {
  test('pauses a partition for PAUSE_CALLS calls after two poor calls in a row, and only that partition', () => {
    const use = new KnownValuesUse();
    expect(use.next(0)).toBe(true);
    use.record(0, 0, MIN_FIELDS_JUDGED);
    expect(use.next(0)).toBe(true); // one poor call: learning, as on a cold start
    use.record(0, 1, MIN_FIELDS_JUDGED);
    for (let call = 0; call < PAUSE_CALLS; call++) expect(use.next(0)).toBe(false);
    expect(use.next(1)).toBe(true);
    expect(use.next(0)).toBe(true);
  });

  test('judges no small call, and forgets a poor call once a good one follows', () => {
    const use = new KnownValuesUse();
    use.record(0, 0, MIN_FIELDS_JUDGED - 1);
    use.record(0, 0, MIN_FIELDS_JUDGED - 1);
    expect(use.next(0)).toBe(true);
    use.record(0, 0, 100);
    use.record(0, 100, 100); // as many compares held as Redis merged itself: not poor
    use.record(0, 0, 100);
    expect(use.next(0)).toBe(true);
  });
});

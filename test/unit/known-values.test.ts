import { KnownValues } from '../../shared/store/known-values';
import { KnownValuesUse, MIN_FIELDS_JUDGED, PAUSE_CALLS } from '../../shared/store/known-values-use';

describe('known values', () => {
  test('keep the last value written to a field, by kind, byte for byte', () => {
    const known = new KnownValues();
    known.set('bucket', 'hash', 7, Buffer.from('first'));
    const binary = Buffer.from([0xff, 0x80, 0, 0x7f, 0xc3]);
    known.set('bucket', 'hash', 7, binary);
    expect(known.get('bucket', 'hash', 7)).toEqual(binary);
    expect(known.get('summary', 'hash', 7)).toBeUndefined();
    expect(known.size('bucket')).toBe(1);
    known.forget('bucket', 'hash', 7);
    expect(known.get('bucket', 'hash', 7)).toBeUndefined();
    expect(known.size('bucket')).toBe(0);
  });

  test('keep a copy: the Buffer they were given may change or go', () => {
    const known = new KnownValues();
    const reply = Buffer.from('a long reply holding the value');
    known.set('summary', 'hash', 'node', reply.subarray(2, 6));
    reply.fill(0);
    expect(known.get('summary', 'hash', 'node')).toEqual(Buffer.from('long'));
  });

  test('hold at most their capacity per kind, the oldest fields of the oldest keys going first', () => {
    const known = new KnownValues({ bucket: 3, summary: 2 });
    for (const field of [1, 2, 3]) known.set('bucket', 'minute-1', field, Buffer.from([field]));
    known.set('bucket', 'minute-1', 1, Buffer.from([10])); // written again: now its key's newest
    known.set('bucket', 'minute-2', 4, Buffer.from([4]));
    expect([1, 2, 3].map((f) => known.get('bucket', 'minute-1', f)?.[0])).toEqual([10, undefined, 3]);
    expect(known.get('bucket', 'minute-2', 4)?.[0]).toBe(4);
    expect(known.size('bucket')).toBe(3);
    expect(known.full('bucket')).toBe(true);
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
  const stale = { matched: 0, stale: MIN_FIELDS_JUDGED, learned: 0 };

  test('pauses a partition for PAUSE_CALLS calls after two calls in a row with mostly stale values, and only that partition', () => {
    const use = new KnownValuesUse();
    expect(use.next(0)).toBe(true);
    use.record(0, stale, false);
    expect(use.next(0)).toBe(true); // one poor call is not enough
    use.record(0, stale, false);
    for (let call = 0; call < PAUSE_CALLS; call++) expect(use.next(0)).toBe(false);
    expect(use.next(1)).toBe(true);
    expect(use.next(0)).toBe(true);
  });

  test('learning is poor only once the known values are full', () => {
    const use = new KnownValuesUse();
    const learning = { matched: 0, stale: 0, learned: 1000 };
    use.record(0, learning, false);
    use.record(0, learning, false);
    expect(use.next(0)).toBe(true);
    use.record(0, learning, true);
    use.record(0, learning, true);
    expect(use.next(0)).toBe(false);
  });

  test('judges no small call, and forgets a poor call once a good one follows', () => {
    const use = new KnownValuesUse();
    const few = { matched: 0, stale: MIN_FIELDS_JUDGED - 1, learned: 0 };
    use.record(0, few, false);
    use.record(0, few, false);
    expect(use.next(0)).toBe(true);
    use.record(0, stale, false);
    use.record(0, { matched: MIN_FIELDS_JUDGED, stale: MIN_FIELDS_JUDGED, learned: 0 }, false); // as many held as failed: not poor
    use.record(0, stale, false);
    expect(use.next(0)).toBe(true);
  });
});

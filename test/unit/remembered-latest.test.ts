import { RememberedLatest, REMEMBERED_QUERIES } from '../../shared/store/remembered-latest';
import { sameReads } from '../../shared/store/window-reads';
import { countFrom, EDGE_BAND_MS } from '../../shared/store/instance-count';

test('remembers the latest each query found last, and forgets the oldest query when full', () => {
  const remembered = new RememberedLatest(3);
  remembered.set('a', 1);
  remembered.set('b', 2);
  remembered.set('c', 3);
  remembered.set('a', 10); // an update is no new entry
  expect(remembered.size).toBe(3);
  remembered.set('d', 4);
  expect(remembered.size).toBe(3);
  expect(remembered.get('a')).toBeUndefined(); // the first query set
  expect([remembered.get('b'), remembered.get('c'), remembered.get('d')]).toEqual([2, 3, 4]);
});

test('however many queries are asked, the memory stays bounded', () => {
  const remembered = new RememberedLatest();
  for (let i = 0; i < 3 * REMEMBERED_QUERIES; i++) remembered.set(`process:${i}`, i);
  expect(remembered.size).toBe(REMEMBERED_QUERIES);
});

test('two lists of reads are the same only with the same keys and fields, in order', () => {
  const reads = [
    { key: 'k1', fields: [1, 2] },
    { key: 'k2', fields: [3] },
  ];
  expect(
    sameReads(reads, [
      { key: 'k1', fields: [1, 2] },
      { key: 'k2', fields: [3] },
    ]),
  ).toBe(true);
  expect(sameReads(reads, [{ key: 'k1', fields: [1, 2] }])).toBe(false);
  expect(
    sameReads(reads, [
      { key: 'k1', fields: [1, 2] },
      { key: 'k3', fields: [3] },
    ]),
  ).toBe(false);
  expect(
    sameReads(reads, [
      { key: 'k1', fields: [1, 3] },
      { key: 'k2', fields: [3] },
    ]),
  ).toBe(false);
  expect(
    sameReads(reads, [
      { key: 'k1', fields: [1] },
      { key: 'k2', fields: [3] },
    ]),
  ).toBe(false);
  expect(
    sameReads(reads, [
      { key: 'k2', fields: [3] },
      { key: 'k1', fields: [1, 2] },
    ]),
  ).toBe(false);
});

describe("a process's instances counted around a remembered edge", () => {
  const around = { edge: 1_000_000, after: 5, band: [1_000_500, 1_002_000, 1_009_000], complete: true };

  test('an edge that moved forward within the band drops the members it passed', () => {
    expect(countFrom(around, 1_000_000)).toBe(5);
    expect(countFrom(around, 1_000_500)).toBe(4); // a member at the edge itself is not after it
    expect(countFrom(around, 1_005_000)).toBe(3);
    expect(countFrom(around, 1_000_000 + EDGE_BAND_MS)).toBe(2);
  });

  test('an edge that moved back, or past the band, or a band not read whole, cannot be counted from it', () => {
    expect(countFrom(around, 999_999)).toBeUndefined();
    expect(countFrom(around, 1_000_001 + EDGE_BAND_MS)).toBeUndefined();
    expect(countFrom({ ...around, complete: false }, 1_000_000)).toBeUndefined();
  });
});

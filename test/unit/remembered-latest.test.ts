import { RememberedLatest, REMEMBERED_QUERIES } from '../../shared/store/remembered-latest';
import { sameReads } from '../../shared/store/window-reads';

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

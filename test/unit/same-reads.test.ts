import { sameReads } from '../../shared/store/window-reads';

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

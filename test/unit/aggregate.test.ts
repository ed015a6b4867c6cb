import { partitionKeys } from '../../shared/keys';
import { partitionOf } from '../../shared/partition';
import { planBatch } from '../../worker/aggregate';
import { decodeToken, encodeToken } from '../../ingest/consistency-token';
import { compareIds } from '../../shared/stream-ids';

describe('batch planning', () => {
  const keys = partitionKeys('na', 2);
  const at = Date.UTC(2026, 0, 1, 10, 0, 5);

  test('samples in the same bucket fold into one operation per bucket', () => {
    const plan = planBatch(
      [
        { kind: 'node', node: 'a', at, timeslice: 10, cpu: 10, mem: 20 },
        { kind: 'node', node: 'b', at, timeslice: 30, cpu: 50, mem: 60 },
      ],
      keys,
      at,
    );
    const fleetOps = [];
    for (let i = 0; i < plan.ops.length; i++) {
      if (plan.ops[i] === 'B' && plan.keys[(plan.ops[i + 1] as number) - 2] === keys.fleetFine(Math.floor(at / 3600000)))
        fleetOps.push(plan.ops.slice(i, i + 9));
    }
    expect(fleetOps).toEqual([['B', expect.any(Number), String(at / 1000), 10 * 10 + 50 * 30, 20 * 10 + 60 * 30, 40, 2, at - 30_000, at]]);
    expect(plan.keys.every((k) => k.startsWith('na:{p2}:'))).toBe(true);
  });
});

describe('partitioning and tokens', () => {
  test('a node always maps to the same partition, and nodes spread', () => {
    expect(partitionOf('web-1', 4)).toBe(partitionOf('web-1', 4));
    const used = new Set(Array.from({ length: 100 }, (_, i) => partitionOf(`node-${i}`, 4)));
    expect(used.size).toBe(4);
  });

  test('tokens round-trip and ids compare numerically', () => {
    const positions = [
      { partition: 0, id: '1700000000000-12' },
      { partition: 3, id: '5-0' },
    ];
    expect(decodeToken(encodeToken(positions), 4)).toEqual(positions);
    expect(compareIds('10-0', '9-5')).toBe(1);
    expect(compareIds('9-10', '9-9')).toBe(1);
    expect(compareIds('9-9', '9-9')).toBe(0);
  });
});

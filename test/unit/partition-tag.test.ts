/**
 * Partition hash tags: each lands in its own slot range, so with the count a multiple of the
 * masters (equal contiguous slot ranges, as `redis-cli --cluster create` makes them) every
 * master holds exactly count / masters partitions; and the tags never change.
 */
import keySlot from 'cluster-key-slot';
import { allPartitionKeys, partitionKeys } from '../../shared/store/keys';
import { CLUSTER_SLOTS, partitionTag, slotRangeOf } from '../../shared/store/partition-tag';

/**
 * The first slot of each master as `redis-cli --cluster create` assigns them: it rounds
 * (3 masters start at 0, 5461, 10923), where the partition ranges round down.
 */
function redisCliFirstSlots(masters: number): number[] {
  const perMaster = CLUSTER_SLOTS / masters;
  const firsts: number[] = [];
  let cursor = 0;
  let first = 0;
  for (let m = 0; m < masters; m++) {
    firsts.push(first);
    first = Math.round(cursor + perMaster - 1) + 1;
    cursor += perMaster;
  }
  return firsts;
}

function masterOfSlot(slot: number, firsts: readonly number[]): number {
  return firsts.filter((first) => slot >= first).length - 1;
}

test('the masters redis-cli makes: equal ranges with rounded boundaries', () => {
  expect(redisCliFirstSlots(3)).toEqual([0, 5461, 10923]);
  expect(redisCliFirstSlots(6)).toEqual([0, 2731, 5461, 8192, 10923, 13653]);
});

test('every partition of every count 1..128 lands in its own slot range', () => {
  const outside: string[] = [];
  for (let count = 1; count <= 128; count++) {
    for (let partition = 0; partition < count; partition++) {
      const slot = keySlot(partitionTag(partition, count));
      const { first, end } = slotRangeOf(partition, count);
      // The range's first slot may be the previous master's (redis-cli rounds): never used.
      if (slot <= first || slot >= end) outside.push(`${partition} of ${count}: slot ${slot} not in [${first}, ${end})`);
    }
  }
  expect(outside).toEqual([]);
});

test('with count = k * masters, each of 1..8 masters (as redis-cli makes them) holds exactly k partitions', () => {
  const uneven: string[] = [];
  for (let masters = 1; masters <= 8; masters++) {
    for (let k = 1; k <= 8; k++) {
      const count = k * masters;
      const held = new Array<number>(masters).fill(0);
      const firsts = redisCliFirstSlots(masters);
      for (const keys of allPartitionKeys('na', count)) held[masterOfSlot(keySlot(keys.stream), firsts)]! += 1;
      if (held.some((n) => n !== k)) uneven.push(`${count} partitions over ${masters} masters: ${held.join(' ')}`);
    }
  }
  expect(uneven).toEqual([]);
});

test('the tags are stable (keys written by one version are found by the next)', () => {
  expect(allPartitionKeys('na', 4).map((keys) => keys.stream)).toEqual([
    'na:{p0of4-3}:stream',
    'na:{p1of4-2}:stream',
    'na:{p2of4-1}:stream',
    'na:{p3of4-4}:stream',
  ]);
  expect(partitionTag(0, 1)).toBe('p0of1');
  expect(partitionTag(2, 6)).toBe('p2of6');
});

test('every key of a partition is in the partition slot, and the tag differs for every count', () => {
  const keys = partitionKeys('na', 3, 8);
  const slot = keySlot(keys.stream);
  for (const key of [
    keys.meta,
    keys.nodes,
    keys.nodeSeconds(7),
    keys.nodeProcesses('n:1'),
    keys.fleetFine(7),
    keys.idempotency('x'),
    keys.named('any'),
  ]) {
    expect({ key, slot: keySlot(key) }).toEqual({ key, slot });
  }
  const streams = [1, 2, 3, 4, 6, 8].flatMap((count) => allPartitionKeys('na', count).map((p) => p.stream));
  expect(new Set(streams).size).toBe(streams.length);
});

test('a partition outside its count, or a count outside 1..16384, is a clear error', () => {
  expect(() => partitionTag(4, 4)).toThrow(/partition 4 does not exist among 4 partitions \(0 to 3\)/);
  expect(() => partitionTag(-1, 4)).toThrow(/partition -1 does not exist/);
  expect(() => partitionTag(0.5, 4)).toThrow(/partition 0.5 does not exist/);
  expect(() => partitionKeys('na', 0, 0)).toThrow(/a partition count must be an integer from 1 to 16384, not 0/);
  expect(() => slotRangeOf(0, 16385)).toThrow(/not 16385/);
});

/**
 * The hash tag every key of a partition carries. Redis Cluster keeps a key in slot
 * CRC16(tag) mod 16384, so the tag decides which master holds the partition. Partition i of
 * N gets a tag whose slot lies in the i-th of N equal slot ranges: with N a multiple of the
 * masters, and the masters holding equal contiguous ranges (as `redis-cli --cluster create`
 * makes them), each master holds exactly N / masters partitions.
 *
 * The tag is `p<i>of<N>`, or `p<i>of<N>-<salt>` with the smallest salt that lands in range
 * when the plain one does not: readable, stable, and different for every count, so a count
 * change moves every key to a new tag (cli/partition-change.ts). A range's first slot is
 * avoided: `redis-cli --cluster create` rounds the masters' boundaries (3 masters start at
 * 0, 5461, 10923, not 10922), so that slot may belong to the previous master.
 */
import keySlot from 'cluster-key-slot';

export const CLUSTER_SLOTS = 16384;

/** Tags found so far, per partition count (the salt search runs once per partition). */
const tagsByCount = new Map<number, string[]>();

/** The Redis Cluster slot of a key (its hash tag's, when it has one). */
export function slotOfKey(key: string): number {
  return keySlot(key);
}

/** The slots of partition `partition` of `count`: [first, end). */
export function slotRangeOf(partition: number, count: number): { first: number; end: number } {
  checkPartition(partition, count);
  return { first: Math.floor((partition * CLUSTER_SLOTS) / count), end: Math.floor(((partition + 1) * CLUSTER_SLOTS) / count) };
}

/** The hash tag's content (without braces) of partition `partition` of `count`. */
export function partitionTag(partition: number, count: number): string {
  checkPartition(partition, count);
  let tags = tagsByCount.get(count);
  if (!tags) tagsByCount.set(count, (tags = []));
  return (tags[partition] ??= findTag(partition, count));
}

function findTag(partition: number, count: number): string {
  const { first, end } = slotRangeOf(partition, count);
  const plain = `p${partition}of${count}`;
  // Only a count of 16384 gives ranges of one slot.
  const lowest = end - first > 1 ? first + 1 : first;
  const inRange = (tag: string) => {
    const slot = slotOfKey(tag);
    return slot >= lowest && slot < end;
  };
  if (inRange(plain)) return plain;
  // Each salt lands in range with chance 1/count: about `count` tries (a few microseconds each).
  for (let salt = 1; ; salt++) {
    const salted = `${plain}-${salt}`;
    if (inRange(salted)) return salted;
  }
}

function checkPartition(partition: number, count: number): void {
  if (!Number.isInteger(count) || count < 1 || count > CLUSTER_SLOTS) {
    throw new RangeError(`a partition count must be an integer from 1 to ${CLUSTER_SLOTS}, not ${count}`);
  }
  if (!Number.isInteger(partition) || partition < 0 || partition >= count) {
    throw new RangeError(`partition ${partition} does not exist among ${count} partitions (0 to ${count - 1})`);
  }
}

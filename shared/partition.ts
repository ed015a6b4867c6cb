/** Routes a node to its partition: a stable FNV-1a hash of the node name. */

export function partitionOf(node: string, partitions: number): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < node.length; i++) {
    hash ^= node.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % partitions;
}

/**
 * The read-after-write token: the last entry id written to each partition by a request,
 * as `partition_id` pairs joined by dots (URL-safe without escaping). A token names each
 * partition at most once, so decoding costs at most one check per partition.
 */
import { BadRequestError } from '../shared/errors';
import { isValidId } from '../shared/stream-ids';

export interface PartitionPosition {
  partition: number;
  id: string;
}

const PAIR = /^(\d{1,4})_(\d{1,20}-\d{1,20})$/;

export function encodeToken(positions: readonly PartitionPosition[]): string {
  return positions.map((p) => `${p.partition}_${p.id}`).join('.');
}

function invalid(problem: string): BadRequestError {
  return new BadRequestError('INVALID_TOKEN', 'after must be a consistency token as returned by a POST (the "token" field).', [
    { field: 'after', message: problem },
  ]);
}

export function decodeToken(token: string, partitions: number): PartitionPosition[] {
  const pairs = token.split('.', partitions + 1);
  if (pairs.length > partitions) throw invalid(`a token holds at most one position per partition (${partitions})`);
  const positions: PartitionPosition[] = [];
  const seen = new Set<number>();
  for (const pair of pairs) {
    const match = PAIR.exec(pair);
    const partition = match ? Number(match[1]) : NaN;
    if (!match || partition >= partitions || !isValidId(match[2]!)) throw invalid(`"${pair.slice(0, 60)}" is not a partition position`);
    if (seen.has(partition)) throw invalid(`partition ${partition} appears more than once`);
    seen.add(partition);
    positions.push({ partition, id: match[2]! });
  }
  return positions;
}

/**
 * The read-after-write token: the last entry id written to each partition by a request,
 * as `partition_id` pairs joined by dots (URL-safe without escaping).
 */
import { BadRequestError } from '../shared/errors';

export interface PartitionPosition {
  partition: number;
  id: string;
}

const PAIR = /^(\d{1,4})_(\d{1,20}-\d{1,20})$/;

export function encodeToken(positions: readonly PartitionPosition[]): string {
  return positions.map((p) => `${p.partition}_${p.id}`).join('.');
}

export function decodeToken(token: string, partitions: number): PartitionPosition[] {
  const positions: PartitionPosition[] = [];
  for (const pair of token.split('.')) {
    const match = PAIR.exec(pair);
    const partition = match ? Number(match[1]) : NaN;
    if (!match || partition >= partitions) {
      throw new BadRequestError('INVALID_TOKEN', 'after must be a consistency token as returned by a POST (the "token" field).', [
        { field: 'after', message: `"${pair.slice(0, 60)}" is not a partition position` },
      ]);
    }
    positions.push({ partition, id: match[2]! });
  }
  return positions;
}

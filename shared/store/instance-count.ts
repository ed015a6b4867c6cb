/**
 * A process window's `num_instances`: the nodes whose latest sample of the process lies after
 * the window's edge (T minus the window), one `ZCOUNT` per partition. The edge is exact to the
 * millisecond, and a live process's T moves with every apply, so a count read with the latest
 * time (before T is known) is taken at the remembered edge, together with the members just
 * after it: an edge that moved forward by up to EDGE_BAND_MS is counted from those, without
 * another round trip.
 */
import type { RedisClient } from '../redis';

/** How far the edge may have moved since the remembered one and still be counted from the band. */
export const EDGE_BAND_MS = 10_000;
/** Members read per partition from the band at most (the work a query may cost Redis). */
export const EDGE_BAND_MEMBERS = 1000;

/** The count after a remembered edge, and the scores just after it. */
export interface EdgeCount {
  edge: number;
  after: number;
  /** Scores in (edge, edge + EDGE_BAND_MS], every partition's. */
  band: number[];
  /** No partition had more band members than were read. */
  complete: boolean;
}

/** Each key's count after `edge`, and its members' scores in the band after it, in one round trip. */
export async function countAround(redis: RedisClient, keys: readonly string[], edge: number): Promise<EdgeCount> {
  const perKey = await Promise.all(
    keys.map((key) =>
      Promise.all([
        redis.zcount(key, `(${edge}`, '+inf'),
        redis.zrangebyscore(key, `(${edge}`, edge + EDGE_BAND_MS, 'WITHSCORES', 'LIMIT', 0, EDGE_BAND_MEMBERS + 1),
      ]),
    ),
  );
  const band: number[] = [];
  let after = 0;
  let complete = true;
  for (const [count, members] of perKey) {
    after += count;
    if (members.length / 2 > EDGE_BAND_MEMBERS) complete = false;
    for (let i = 1; i < members.length; i += 2) band.push(Number(members[i]));
  }
  return { edge, after, band, complete };
}

/** The count after `edge` from a count around a remembered edge; undefined when it cannot tell. */
export function countFrom(around: EdgeCount, edge: number): number | undefined {
  if (!around.complete || edge < around.edge || edge > around.edge + EDGE_BAND_MS) return undefined;
  let left = 0;
  for (const score of around.band) if (score <= edge) left++;
  return around.after - left;
}

/** The count after `edge`, read now. */
export async function countAfter(redis: RedisClient, keys: readonly string[], edge: number): Promise<number> {
  const counts = await Promise.all(keys.map((key) => redis.zcount(key, `(${edge}`, '+inf')));
  return counts.reduce((a, b) => a + b, 0);
}

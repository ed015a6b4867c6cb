/**
 * Redis 7.2.0 to 7.2.6 crash (an assertion, the master exits) when a slot moves while a client
 * is blocked reading one of its streams: the blocked XREADGROUP is redirected and the server
 * asserts (redis/redis#13311, fixed in 7.2.7 and 7.4.0). Workers block on their partitions'
 * streams all the time, so on those versions adding or removing masters under running workers
 * takes a master down. A worker in cluster mode reads each master's version once at start and
 * says so.
 */
import { isCluster, type RedisClient } from '../redis';
import { masterNodes, nodeAddress } from './server-nodes';

export type RedisVersion = readonly [major: number, minor: number, patch: number];

/** `redis_version` of INFO server, or undefined when INFO does not give one. */
export function redisVersionOf(info: string): RedisVersion | undefined {
  const match = /^redis_version:(\d+)\.(\d+)\.(\d+)\s*$/m.exec(info);
  return match ? [Number(match[1]), Number(match[2]), Number(match[3])] : undefined;
}

/** Whether this version asserts when a blocked stream read is redirected by a slot move. */
export function crashesWhenSlotMovesUnderBlockedRead([major, minor, patch]: RedisVersion): boolean {
  return major === 7 && minor === 2 && patch <= 6;
}

export interface MasterVersion {
  address: string;
  version: RedisVersion | undefined;
}

/** Each master's version (INFO server); empty on a single Redis, where no slot ever moves. */
export async function clusterMasterVersions(redis: RedisClient): Promise<MasterVersion[]> {
  if (!isCluster(redis)) return [];
  return Promise.all(
    masterNodes(redis).map(async (node) => ({ address: nodeAddress(node), version: redisVersionOf(await node.info('server')) })),
  );
}

/** The warning for masters whose version crashes on a slot move under the workers, or undefined. */
export function slotMoveHazardWarning(masters: readonly MasterVersion[]): string | undefined {
  const affected = masters.filter((master) => master.version && crashesWhenSlotMovesUnderBlockedRead(master.version));
  if (affected.length === 0) return undefined;
  const named = affected.map((master) => `${master.address} (${master.version!.join('.')})`).join(', ');
  return (
    `The masters ${named} run a Redis that crashes when a slot moves while a worker waits on one of its streams (redis/redis#13311, fixed in 7.2.7): ` +
    'upgrade Redis before adding or removing masters, or scale the workers to 0 while slots move (docs/RUNBOOK.md, "Moving slots")'
  );
}

/**
 * What Redis itself counts: its CPU time (`INFO cpu`) and its per-command calls and time
 * (`INFO commandstats`). Commands run inside a script are counted too, besides the EVALSHA.
 */
import type Redis from 'ioredis';

/** A numeric field of an INFO section's text (NaN when absent). */
function infoField(info: string, name: string): number {
  return Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1] ?? NaN);
}

/** used_cpu_user and used_cpu_sys (in the kernel: reading and writing its connections, mostly): all of the server's threads, in seconds. */
export async function redisCpuParts(redis: Redis): Promise<{ user: number; sys: number }> {
  const info = await redis.info('cpu');
  return { user: infoField(info, 'used_cpu_user'), sys: infoField(info, 'used_cpu_sys') };
}

/** used_cpu_user + used_cpu_sys: all of the server's threads, in seconds. */
export async function redisCpuSeconds(redis: Redis): Promise<number> {
  const { user, sys } = await redisCpuParts(redis);
  return user + sys;
}

/**
 * How often Redis read from and wrote to its client connections (INFO stats): a read for
 * each arrival of requests on a connection, however many it carries; a write for each reply
 * sent, also the replies no request asked for then (a blocked read released, a message to a
 * subscriber); and the bytes of both.
 */
export interface RedisTraffic {
  reads: number;
  writes: number;
  bytesIn: number;
  bytesOut: number;
}

export async function redisTraffic(redis: Redis): Promise<RedisTraffic> {
  const info = await redis.info('stats');
  return {
    reads: infoField(info, 'total_reads_processed'),
    writes: infoField(info, 'total_writes_processed'),
    bytesIn: infoField(info, 'total_net_input_bytes'),
    bytesOut: infoField(info, 'total_net_output_bytes'),
  };
}

/** Several servers' traffic as one (a cluster's masters). */
export function sumTraffic(perServer: readonly RedisTraffic[]): RedisTraffic {
  const sum = (pick: (t: RedisTraffic) => number) => perServer.reduce((total, t) => total + pick(t), 0);
  return { reads: sum((t) => t.reads), writes: sum((t) => t.writes), bytesIn: sum((t) => t.bytesIn), bytesOut: sum((t) => t.bytesOut) };
}

export interface CommandStat {
  command: string;
  calls: number;
  /**
   * Time inside the command as Redis measures it: wall time, so it grows when the machine is
   * busy and Redis is descheduled mid-command; INFO cpu is the steadier figure.
   */
  usec: number;
  usecPerCall: number;
}

/** Starts the per-command counters from zero (CONFIG RESETSTAT; INFO cpu is not reset). */
export async function resetCommandStats(redis: Redis): Promise<void> {
  await redis.config('RESETSTAT');
}

/** Per-command counters since the last reset, the costliest first. */
export async function commandStats(redis: Redis): Promise<CommandStat[]> {
  const info = await redis.info('commandstats');
  const stats: CommandStat[] = [];
  for (const match of info.matchAll(/^cmdstat_([^:]+):calls=(\d+),usec=(\d+),usec_per_call=([\d.]+)/gm)) {
    stats.push({ command: match[1]!, calls: Number(match[2]), usec: Number(match[3]), usecPerCall: Number(match[4]) });
  }
  return stats.sort((a, b) => b.usec - a.usec);
}

/** Several servers' counters as one (a cluster's masters), the costliest first. */
export function mergeCommandStats(perServer: CommandStat[][]): CommandStat[] {
  const merged = new Map<string, CommandStat>();
  for (const stat of perServer.flat()) {
    const sum = merged.get(stat.command) ?? { command: stat.command, calls: 0, usec: 0, usecPerCall: 0 };
    sum.calls += stat.calls;
    sum.usec += stat.usec;
    sum.usecPerCall = sum.calls > 0 ? sum.usec / sum.calls : 0;
    merged.set(stat.command, sum);
  }
  return [...merged.values()].sort((a, b) => b.usec - a.usec);
}

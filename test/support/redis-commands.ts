/** Counts the commands a Redis executed (INFO commandstats), for tests that bound the work a request causes. */
import type { RedisClient } from '../../shared/redis';

export async function resetCommandStats(admin: RedisClient): Promise<void> {
  await admin.config('RESETSTAT');
}

/** Calls per command since the last reset, without the test's own INFO and CONFIG. */
export async function commandCounts(admin: RedisClient): Promise<Record<string, number>> {
  const info = await admin.info('commandstats');
  const counts: Record<string, number> = {};
  for (const match of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
    if (match[1] === 'info' || match[1] === 'config') continue;
    counts[match[1]!] = Number(match[2]);
  }
  return counts;
}

export function total(counts: Record<string, number>): number {
  return Object.values(counts).reduce((a, b) => a + b, 0);
}

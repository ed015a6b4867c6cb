/**
 * Settles a write whose reply was lost (connection dropped or timed out after the script
 * was sent): once Redis answers again, looks for the request's id in the entries appended
 * since it started. The script is atomic, so the entries are all there or none are.
 */
import type { RedisClient } from '../shared/redis';

export type LostWriteOutcome = { kind: 'stored'; ids: string[] } | { kind: 'absent' } | { kind: 'unknown' };

/** Clock skew allowed between ingest and Redis when bounding the search by time. */
const CLOCK_SKEW_MS = 10_000;
const PAGE = 500;

async function waitUntilReady(redis: RedisClient, deadline: number): Promise<boolean> {
  while (redis.status !== 'ready') {
    if (Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return true;
}

async function findEntry(redis: RedisClient, stream: string, requestId: string, sinceMs: number): Promise<string | null> {
  let end = '+';
  const floor = `${Math.max(0, sinceMs - CLOCK_SKEW_MS)}-0`;
  for (;;) {
    const page = await redis.xrevrange(stream, end, floor, 'COUNT', PAGE);
    for (const [id, fields] of page) {
      for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i] === 'r' && fields[i + 1] === requestId) return id;
    }
    if (page.length < PAGE) return null;
    end = `(${page[page.length - 1]![0]}`;
  }
}

export async function settleLostWrite(
  redis: RedisClient,
  streams: readonly string[],
  requestId: string,
  sinceMs: number,
  deadline: number,
): Promise<LostWriteOutcome> {
  try {
    if (!(await waitUntilReady(redis, deadline))) return { kind: 'unknown' };
    const found = await Promise.all(streams.map((stream) => findEntry(redis, stream, requestId, sinceMs)));
    if (found.every((id) => id !== null)) return { kind: 'stored', ids: found as string[] };
    if (found.every((id) => id === null)) return { kind: 'absent' };
    return { kind: 'unknown' };
  } catch {
    return { kind: 'unknown' };
  }
}

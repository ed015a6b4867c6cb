/**
 * Settles a group write whose reply was lost (connection dropped or timed out after the
 * script was sent): once Redis answers again, finds out for each request of the group
 * whether it was stored: a request without a key by the group's id in the entries appended
 * since it started, a keyed request by its idempotency records. On one Redis the script is
 * atomic, so a group is stored whole or not at all; on a cluster (one call per partition)
 * a request may be stored in some partitions only.
 */
import type { AppendOutcome, AppendRequest, SampleAppender } from '../shared/store/sample-append';

export type LostWriteOutcome = AppendOutcome | { kind: 'absent' } | { kind: 'partial' } | { kind: 'unknown' };

const POLL_MS = 20;

async function waitUntilConnected(appender: SampleAppender, deadline: number): Promise<boolean> {
  while (!appender.connected) {
    if (Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
  return true;
}

function outcomeOf(request: AppendRequest, ids: (string | null)[]): LostWriteOutcome {
  if (ids.every((id) => id !== null)) return { kind: 'stored', ids: ids as string[], accepted: request.samples, replayed: false };
  return ids.every((id) => id === null) ? { kind: 'absent' } : { kind: 'partial' };
}

async function settleKeyed(appender: SampleAppender, request: AppendRequest): Promise<LostWriteOutcome> {
  const parts = await appender.readRecords(request);
  if (parts.some((part) => part.kind === 'conflict')) return { kind: 'conflict' };
  return outcomeOf(
    request,
    parts.map((part) => (part.kind === 'stored' ? part.id : null)),
  );
}

export async function settleLostGroup(
  appender: SampleAppender,
  groupId: string,
  requests: readonly AppendRequest[],
  sinceMs: number,
  deadline: number,
): Promise<LostWriteOutcome[]> {
  try {
    if (!(await waitUntilConnected(appender, deadline))) return requests.map(() => ({ kind: 'unknown' }));
    const unkeyedPartitions = new Set<number>();
    for (const request of requests) if (!request.idempotency) for (const part of request.parts) unkeyedPartitions.add(part.partition);
    const searched = [...unkeyedPartitions];
    const found = new Map<number, string | null>();
    (await appender.findGroupEntries(searched, groupId, sinceMs)).forEach((id, i) => found.set(searched[i]!, id));
    return await Promise.all(
      requests.map((request) =>
        request.idempotency
          ? settleKeyed(appender, request)
          : outcomeOf(
              request,
              request.parts.map((part) => found.get(part.partition) ?? null),
            ),
      ),
    );
  } catch {
    return requests.map(() => ({ kind: 'unknown' }));
  }
}

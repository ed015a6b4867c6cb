// Polls GET /v1/pipeline and decides which partitions have stopped advancing. The header
// badge and the pipeline view both read it, so the warning shows on every view.
import { getJson } from './api.js';

/** A backlog whose position has not moved for this long is a stalled partition. */
export const STALL_AFTER_MS = 10_000;
/** A pending entry this old is stuck (workers take over idle entries well before this). */
export const PENDING_TOO_OLD_MS = 60_000;

const progress = new Map(); // partition -> { position, since }
let latest = null;
const listeners = new Set();

export function onPipeline(listener) {
  listeners.add(listener);
  if (latest) listener(latest);
  return () => listeners.delete(listener);
}

export async function refreshPipeline(signal) {
  const body = await getJson('/v1/pipeline', { signal });
  const now = Date.now();
  const partitions = body.partitions.map((p) => ({ ...p, health: judge(p, now) }));
  latest = { ...body, partitions, stalled: partitions.filter((p) => p.health.stalled), at: now };
  for (const listener of listeners) listener(latest);
  return latest;
}

function judge(p, now) {
  const backlog = (p.lag ?? 0) + p.pending;
  const position = `${p.last_delivered_id}|${p.last_applied}|${p.pending}`;
  const seen = progress.get(p.partition);
  if (!seen || seen.position !== position || backlog === 0) progress.set(p.partition, { position, since: now });
  const unchangedMs = now - progress.get(p.partition).since;
  if (backlog === 0) return { stalled: false, text: 'Idle: nothing waiting', backlog };
  if (p.stalled === true) return { stalled: true, text: 'Stalled (reported by the service)', backlog };
  if (p.consumers.length === 0) return { stalled: true, text: 'Stalled: no consumer is reading', backlog };
  if (p.oldest_pending_age_ms !== null && p.oldest_pending_age_ms >= PENDING_TOO_OLD_MS) {
    return { stalled: true, text: 'Stalled: an entry has been pending too long', backlog };
  }
  if (unchangedMs >= STALL_AFTER_MS)
    return { stalled: true, text: `Stalled: no progress for ${Math.round(unchangedMs / 1000)} s`, backlog };
  return { stalled: false, text: 'Advancing', backlog };
}

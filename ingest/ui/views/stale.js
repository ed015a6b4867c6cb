// When a node counts as stale: no sample for a while, relative to how often it reports.
export const STALE_AFTER_MS = 120_000;

export function isStale(node, now = Date.now()) {
  if (!node.last_seen) return true;
  const every = (node.latest?.timeslice ?? 0) * 1000;
  return now - Date.parse(node.last_seen) > Math.max(STALE_AFTER_MS, 3 * every);
}

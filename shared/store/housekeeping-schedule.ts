/**
 * When an apply tidies a per-node or per-process sorted set (a node's processes, a process's
 * nodes): once an hour per key, in a minute of the hour that its name picks, so the keys of a
 * fleet spread over the hour. Tidying is dropping members older than the retention and
 * moving the key's expiry on; doing it in every apply cost two Redis commands per key per
 * apply for nothing new. A key an apply creates gets its expiry at once whatever the minute
 * (the apply sees it was missing), so no key is ever left without one.
 */
import { COARSE_RETENTION_MS } from './keys';

export const HOUSEKEEPING_PERIOD_MS = 3600 * 1000;
const SLOT_MS = 60 * 1000;
const SLOTS = HOUSEKEEPING_PERIOD_MS / SLOT_MS;

/** A key's minute of the hour (FNV-1a of its name). */
function slotOf(key: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) hash = Math.imul(hash ^ key.charCodeAt(i), 0x01000193);
  return (hash >>> 0) % SLOTS;
}

export class HousekeepingSchedule {
  private readonly slot: number;
  private readonly seen = new Map<string, boolean>();
  /** Unix seconds until which a tidied set lives: the retention after its newest member, plus the hour until its next tidying. */
  readonly keepUntil: number;
  /** Members last seen at or before this time (ms) are dropped when a set is tidied. */
  readonly forgetBefore: number;

  constructor(readonly nowMs: number) {
    this.slot = Math.floor(nowMs / SLOT_MS) % SLOTS;
    this.keepUntil = Math.ceil((nowMs + COARSE_RETENTION_MS + HOUSEKEEPING_PERIOD_MS) / 1000);
    this.forgetBefore = nowMs - COARSE_RETENTION_MS;
  }

  /** Whether `key` is tidied by applies planned now. */
  due(key: string): boolean {
    let due = this.seen.get(key);
    if (due === undefined) this.seen.set(key, (due = slotOf(key) === this.slot));
    return due;
  }
}

/**
 * How long a read waits while the stream trickles (the last read found entries, but fewer
 * than it asked for). At least WORKER_BATCH_LINGER_MS, at most MAX_LINGER_FACTOR times it.
 * Longer than the setting in two cases, both because an apply's Redis work is mostly per
 * apply and per key it touches, not per sample (docs/BENCHMARKS.md):
 * - after a batch that took longer to process: as long as that batch took. A caught-up
 *   worker then applies about as often as it spends applying, instead of making many thin
 *   applies ("A linger that follows the batch").
 * - while thin entries stream in (single POSTs): as long as gathering FILL_TARGET_SAMPLES
 *   takes at the rate the last read saw, but no longer than the setting times that rate over
 *   QUIET_SAMPLES_PER_MS. A quiet stream (at or below that rate) keeps the setting: Redis has
 *   time to spare and its samples are visible soon; the linger then grows with the rate, so
 *   no rate is a cliff (10 ms at 200 samples a second on a partition, 40 ms from 800 a second
 *   with the default setting, falling back towards the setting as 64 samples come sooner).
 * A read that found FILL_TARGET_SAMPLES or more (batches) lingers as before.
 */
export const MAX_LINGER_FACTOR = 4;
/** Samples an apply should carry before its fixed cost stops mattering much (about 15 % of it). */
export const FILL_TARGET_SAMPLES = 64;
/** Samples per ms on one partition up to which a thin stream keeps the setting (200 a second). */
export const QUIET_SAMPLES_PER_MS = 0.2;

/** What the last read of new entries found: its samples, and the time they came in over. */
export interface LastRead {
  samples: number;
  /** From the read before it returning to this one returning. */
  windowMs: number;
}

export function readLingerMs(settingMs: number, lastBatchMs: number, lastRead?: LastRead): number {
  if (settingMs <= 0) return 0;
  let wanted = Math.max(settingMs, lastBatchMs);
  if (lastRead && lastRead.samples > 0 && lastRead.samples < FILL_TARGET_SAMPLES && lastRead.windowMs > 0) {
    const perMs = lastRead.samples / lastRead.windowMs;
    wanted = Math.max(wanted, Math.min(FILL_TARGET_SAMPLES / perMs, (settingMs * perMs) / QUIET_SAMPLES_PER_MS));
  }
  return Math.min(wanted, settingMs * MAX_LINGER_FACTOR);
}

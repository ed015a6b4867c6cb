/**
 * How long a read waits while the stream trickles (the last read found entries, but fewer
 * than it asked for). At least WORKER_BATCH_LINGER_MS; after a batch that took longer to
 * process, as long as that batch took, up to MAX_LINGER_FACTOR times the setting. A caught-up
 * worker then applies about as often as it spends applying: an apply's Redis work is mostly
 * per key it touches, so a worker that keeps up with room to spare would otherwise make
 * many thin applies that cost Redis more per sample (docs/BENCHMARKS.md, "A linger that
 * follows the batch"). Under light load a batch takes less than the setting, and the setting
 * alone applies.
 */
export const MAX_LINGER_FACTOR = 4;

export function readLingerMs(settingMs: number, lastBatchMs: number): number {
  if (settingMs <= 0) return 0;
  return Math.min(Math.max(settingMs, lastBatchMs), settingMs * MAX_LINGER_FACTOR);
}

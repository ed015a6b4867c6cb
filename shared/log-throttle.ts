/** At most one log line per key per interval, so a client hammering a limit cannot flood the logs. */
export class LogThrottle {
  private readonly lastAt = new Map<string, number>();

  constructor(private readonly intervalMs = 60_000) {}

  /** True when a line for `key` may be written now. Keys are token names and fixed words, so the map stays small. */
  allow(key: string): boolean {
    const now = Date.now();
    const last = this.lastAt.get(key);
    if (last !== undefined && now - last < this.intervalMs) return false;
    this.lastAt.set(key, now);
    return true;
  }
}

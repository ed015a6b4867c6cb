/**
 * Rate-limits a repeated log line: the first occurrence of a key is logged, then at most
 * one line per interval, carrying how many were suppressed meanwhile. A Redis out of
 * memory or unreachable must not turn the logs into the next thing that fills a disk.
 */
import type { Logger } from './logger';

const DEFAULT_INTERVAL_MS = 10_000;

export class ThrottledWarnings {
  private readonly seen = new Map<string, { at: number; suppressed: number }>();

  constructor(
    private readonly logger: Logger,
    private readonly intervalMs = DEFAULT_INTERVAL_MS,
  ) {}

  warn(key: string, fields: Record<string, unknown>, message: string): void {
    this.write('warn', key, fields, message);
  }

  /** The same throttle for expected, client-caused events (a refused token, a limit reached). */
  info(key: string, fields: Record<string, unknown>, message: string): void {
    this.write('info', key, fields, message);
  }

  private write(level: 'warn' | 'info', key: string, fields: Record<string, unknown>, message: string): void {
    const now = Date.now();
    const entry = this.seen.get(key);
    if (entry && now - entry.at < this.intervalMs) {
      entry.suppressed += 1;
      return;
    }
    const suppressed = entry?.suppressed ?? 0;
    this.seen.set(key, { at: now, suppressed: 0 });
    this.logger[level](suppressed > 0 ? { ...fields, suppressed } : fields, message);
  }
}

/**
 * Heals half-open Redis connections: a connection that stays open but never answers makes
 * every command time out and does not reconnect by itself. After a few timeouts in a row,
 * the watchdog drops the connections so the client reconnects.
 */
import type { RedisClient } from './redis';
import { isCommandTimeout } from './store/redis-errors';

const TIMEOUTS_BEFORE_RECONNECT = 3;

export class TimeoutWatchdog {
  private consecutive = 0;

  constructor(
    private readonly clients: readonly RedisClient[],
    private readonly onReconnect: () => void = () => undefined,
  ) {}

  /** Reports the outcome of a Redis call: a timeout, or anything else (which resets the count). */
  observe(error: unknown): void {
    if (!isCommandTimeout(error)) {
      this.consecutive = 0;
      return;
    }
    this.consecutive += 1;
    if (this.consecutive >= TIMEOUTS_BEFORE_RECONNECT) {
      this.consecutive = 0;
      this.onReconnect();
      for (const client of this.clients) client.disconnect(true);
    }
  }
}

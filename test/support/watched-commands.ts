import Redis from 'ioredis';
import { waitUntil } from './wait-until';

export interface WatchedCommands {
  /** Resolves once Redis has run every command `client` sent before it (MONITOR reports a command after it ran). */
  settled(client: Redis): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Every command Redis runs, as MONITOR reports it: its arguments, and who ran it (a client's
 * address, or "lua" for a script). MONITOR takes a connection of its own. Start it before the
 * test's own clients connect: ioredis enters monitoring mode only after MONITOR's reply, so a
 * command reported in the same read (another client's connection check, say) is taken for a
 * reply and fails with "Command queue state error".
 */
export async function watchCommands(url: string, onCommand: (args: string[], source: string) => void): Promise<WatchedCommands> {
  // Never connected itself: monitor() opens the monitoring connection, with nothing of ours beside it.
  const monitored = new Redis(url, { lazyConnect: true });
  const monitor = await monitored.monitor();
  monitor.on('monitor', (_time: string, args: string[], source: string) => onCommand(args, source));
  return {
    async settled(client) {
      const marker = `settled-${Math.random()}`;
      let seen = false;
      const onMarker = (_time: string, args: string[]) => (seen ||= args[1] === marker);
      monitor.on('monitor', onMarker);
      await client.echo(marker);
      await waitUntil(async () => seen, 5_000, 10);
      monitor.off('monitor', onMarker);
    },
    stop() {
      monitor.disconnect();
      monitored.disconnect();
      return Promise.resolve();
    },
  };
}

import Redis from 'ioredis';
import { waitUntil } from './wait-until';

export interface WatchedCommands {
  /** Resolves once Redis has run every command `client` sent before it (MONITOR reports a command after it ran). */
  settled(client: Redis): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Every command Redis runs, as MONITOR reports it: its arguments, and who ran it (a client's
 * address, or "lua" for a script). MONITOR takes a connection of its own.
 */
export async function watchCommands(url: string, onCommand: (args: string[], source: string) => void): Promise<WatchedCommands> {
  const monitored = new Redis(url);
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
    async stop() {
      monitor.disconnect();
      await monitored.quit();
    },
  };
}

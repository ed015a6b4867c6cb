/**
 * Commands whose key ioredis cannot find (XINFO, XGROUP: the key follows a subcommand). A
 * cluster client would send them to a random master, which answers MOVED, and send them
 * again later: slower, and out of order with the commands sent after them.
 */
import { Command } from 'ioredis';
import type { RedisClient } from '../redis';

class RoutedCommand extends Command {
  constructor(
    name: string,
    args: (string | number)[],
    private readonly routeKey: string,
  ) {
    super(name, args, { replyEncoding: 'utf8' });
  }

  override getKeys(): string[] {
    return [this.routeKey];
  }
}

/** Sends `name args` to the node serving `key` (one Redis: as any command). */
export function sendRouted(redis: RedisClient, key: string, name: string, args: (string | number)[]): Promise<unknown> {
  return redis.sendCommand(new RoutedCommand(name, args, key)) as Promise<unknown>;
}

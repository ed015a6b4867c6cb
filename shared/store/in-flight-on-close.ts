/**
 * Fails the commands in flight when a connection closes. Our clients never send a command
 * again after a reconnect (`autoResendUnfulfilledCommands: false`: a write whose reply was
 * lost must not run twice), and ioredis then drops those commands unanswered once the
 * connection is back: each would fail only at REDIS_COMMAND_TIMEOUT_MS, as a timeout, and a
 * blocking read or a POST waited that long for nothing. They fail with ioredis's own
 * "Connection is closed." instead: sent, their reply lost, their outcome unknown
 * (redis-errors.ts: 'unavailable').
 */
import type { Command, Redis } from 'ioredis';

/** ioredis's queue of commands written and not yet answered (Redis.commandQueue, a Deque). */
interface CommandQueue {
  shift(): { command: Command } | undefined;
}

export function failInFlightOnClose(client: Redis): void {
  // ioredis emits 'close' on the next tick after the socket closed, before it reconnects
  // (at least 50 ms later), so the queue is still that of the closed connection.
  client.on('close', () => {
    const queue = (client as unknown as { commandQueue: CommandQueue }).commandQueue;
    for (let item = queue.shift(); item; item = queue.shift()) item.command.reject(new Error('Connection is closed.'));
  });
}

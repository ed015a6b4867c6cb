/**
 * Connections of their own for WATCH ... MULTI/EXEC: a WATCH holds for the whole connection
 * until its EXEC, so two applies sharing one would lose each other's watches. One per apply
 * in flight, taken and given back (or discarded after a failure); they end when the
 * connection they were made from ends.
 *
 * Each queues nothing while disconnected and resends nothing after a reconnect: a MULTI/EXEC
 * resent on a new connection would run without the WATCH made on the old one. Commands in
 * flight when a connection closes fail at once (`maxRetriesPerRequest: 0`): without a resend,
 * ioredis would otherwise leave them unanswered until a command timeout, or for ever without
 * one. `generation` counts its connections, so a caller sees that one was replaced since its WATCH.
 */
import type { Redis } from 'ioredis';

export interface TransactionConnection {
  readonly redis: Redis;
  /** Increases each time the connection is (re)established. */
  generation: number;
}

export class TransactionConnections {
  private readonly idle: TransactionConnection[] = [];
  private readonly all: TransactionConnection[] = [];
  private ended = false;

  constructor(private readonly parent: Redis) {
    parent.once('end', () => this.close());
  }

  async take(): Promise<TransactionConnection> {
    if (this.ended) throw new Error('Connection is closed.');
    const idle = this.idle.pop();
    if (idle) return idle;
    const redis = this.parent.duplicate({
      connectionName: `${this.parent.options.connectionName ?? 'nodeagg'}:tx`,
      lazyConnect: true,
      enableOfflineQueue: false,
      autoResendUnfulfilledCommands: false,
      maxRetriesPerRequest: 0,
    });
    redis.on('error', () => undefined); // failures reach the apply through its commands
    const connection: TransactionConnection = { redis, generation: 0 };
    redis.on('ready', () => connection.generation++);
    try {
      await redis.connect();
    } catch (error) {
      redis.disconnect();
      throw error;
    }
    this.all.push(connection);
    return connection;
  }

  give(connection: TransactionConnection): void {
    if (this.ended) connection.redis.disconnect();
    else this.idle.push(connection);
  }

  /** Closes a connection that may hold watches or be half-open. */
  discard(connection: TransactionConnection): void {
    connection.redis.disconnect();
    const at = this.all.indexOf(connection);
    if (at >= 0) this.all.splice(at, 1);
  }

  close(): void {
    this.ended = true;
    for (const { redis } of this.all) redis.disconnect();
    this.idle.length = 0;
  }
}

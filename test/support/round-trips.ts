/**
 * Which round trip each Redis command of a piece of work went out in. A client wrapped by
 * `countRoundTrips` numbers its commands: those sent before any reply came back are round trip
 * 0, those sent after a reply to round trip n are round trip n + 1 at least. Commands queued on
 * a pipeline count when the pipeline is sent.
 */
import type { RedisClient } from '../../shared/redis';

export interface SentCommand {
  name: string;
  roundTrip: number;
}

export interface RoundTrips {
  client: RedisClient;
  /** Every command sent since the last reset, in order. */
  sent: SentCommand[];
  reset(): void;
  /** The round trips the commands called `name` went out in (case-insensitive, distinct, sorted). */
  of(name: string): number[];
}

type AnyFunction = (...args: unknown[]) => unknown;

function isPromise(value: unknown): value is Promise<unknown> {
  return typeof (value as Promise<unknown> | undefined)?.then === 'function';
}

export function countRoundTrips(redis: RedisClient): RoundTrips {
  let next = 0;
  const sent: SentCommand[] = [];
  const send = <T>(names: readonly string[], reply: T): T => {
    const roundTrip = next;
    for (const name of names) sent.push({ name: name.toLowerCase(), roundTrip });
    if (isPromise(reply)) {
      const settled = () => (next = Math.max(next, roundTrip + 1));
      reply.then(settled, settled);
    }
    return reply;
  };
  const pipelineOf = (pipeline: object): object => {
    const queued: string[] = [];
    const proxy: object = new Proxy(pipeline, {
      get(target, property) {
        const value = (target as Record<PropertyKey, unknown>)[property];
        if (typeof value !== 'function') return value;
        if (property === 'exec') return () => send(queued.splice(0), (value as AnyFunction).apply(target));
        return (...args: unknown[]) => {
          queued.push(String(property).replace(/Buffer$/, ''));
          (value as AnyFunction).apply(target, args);
          return proxy;
        };
      },
    });
    return proxy;
  };
  const client = new Proxy(redis, {
    get(target, property) {
      const value = (target as unknown as Record<PropertyKey, unknown>)[property];
      if (typeof value !== 'function') return value;
      if (property === 'pipeline') return (...args: unknown[]) => pipelineOf((value as AnyFunction).apply(target, args) as object);
      return (...args: unknown[]) => send([String(property).replace(/Buffer$/, '')], (value as AnyFunction).apply(target, args));
    },
  });
  return {
    client,
    sent,
    reset: () => {
      sent.length = 0;
      next = 0;
    },
    of: (name) => [...new Set(sent.filter((c) => c.name === name.toLowerCase()).map((c) => c.roundTrip))].sort((a, b) => a - b),
  };
}

/**
 * What one round trip costs Redis on this machine, whatever the command: redis-benchmark's
 * PING from one connection, one request at a time, so that every request wakes Redis on its
 * own (as at the light load of the single-POST phase), divided into Redis's CPU per request.
 * A phase's Redis CPU per sample splits into its round trips at this price and the rest:
 * what Redis does beyond a bare round trip (the commands, their arguments and replies).
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type Redis from 'ioredis';
import { redisCpuParts, redisTraffic } from './redis-accounting';

const run = promisify(execFile);

/** Requests of one measurement: a few seconds on a slow machine. */
const REQUESTS = 50_000;

export interface RoundTripPrice {
  requests: number;
  /** Redis CPU (used_cpu_user + used_cpu_sys) per request, µs. */
  usPerRoundTrip: number;
  /** Of it, in the kernel (used_cpu_sys). */
  sysUsPerRoundTrip: number;
  /** Redis's reads of client connections per request: 1 when every request arrived on its own. */
  readsPerRequest: number;
}

export async function roundTripPrice(redis: Redis, port: number, requests = REQUESTS): Promise<RoundTripPrice> {
  const [cpuBefore, ioBefore] = await Promise.all([redisCpuParts(redis), redisTraffic(redis)]);
  await run('redis-benchmark', ['-p', String(port), '-c', '1', '-P', '1', '-n', String(requests), '-q', 'PING'], { maxBuffer: 1 << 20 });
  const [cpuAfter, ioAfter] = await Promise.all([redisCpuParts(redis), redisTraffic(redis)]);
  const user = cpuAfter.user - cpuBefore.user;
  const sys = cpuAfter.sys - cpuBefore.sys;
  return {
    requests,
    usPerRoundTrip: ((user + sys) * 1e6) / requests,
    sysUsPerRoundTrip: (sys * 1e6) / requests,
    readsPerRequest: (ioAfter.reads - ioBefore.reads) / requests,
  };
}

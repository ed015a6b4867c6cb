/** Rate-limited warnings and the INFO memory parser (no Redis needed). */
import { ThrottledWarnings } from '../../shared/throttled-warnings';
import type { Logger } from '../../shared/logger';
import { parseInfoMemory } from '../../shared/store/memory-info';

test('a repeated warning is logged once per interval per key, with the count it suppressed', () => {
  const lines: [Record<string, unknown>, string][] = [];
  const logger = { warn: (fields: Record<string, unknown>, message: string) => lines.push([fields, message]) } as unknown as Logger;
  jest.useFakeTimers({ now: 1_000_000 });
  try {
    const throttle = new ThrottledWarnings(logger, 10_000);
    for (let i = 0; i < 5000; i++) throttle.warn('oom', { partition: 0 }, 'out of memory');
    throttle.warn('other', {}, 'another key');
    jest.setSystemTime(1_010_001);
    throttle.warn('oom', { partition: 0 }, 'out of memory');
    expect(lines).toEqual([
      [{ partition: 0 }, 'out of memory'],
      [{}, 'another key'],
      [{ partition: 0, suppressed: 4999 }, 'out of memory'],
    ]);
  } finally {
    jest.useRealTimers();
  }
});

test('client-caused events log at info under the same throttle, keys apart from warnings', () => {
  const lines: [string, Record<string, unknown>, string][] = [];
  const logger = {
    info: (fields: Record<string, unknown>, message: string) => lines.push(['info', fields, message]),
    warn: (fields: Record<string, unknown>, message: string) => lines.push(['warn', fields, message]),
  } as unknown as Logger;
  jest.useFakeTimers({ now: 2_000_000 });
  try {
    const throttle = new ThrottledWarnings(logger, 60_000);
    for (let i = 0; i < 100; i++) throttle.info('auth:unknown', { reason: 'unknown' }, 'rejected');
    throttle.warn('limit:agents:requests', { token: 'agents' }, 'limited');
    jest.setSystemTime(2_060_000);
    throttle.info('auth:unknown', { reason: 'unknown' }, 'rejected');
    expect(lines).toEqual([
      ['info', { reason: 'unknown' }, 'rejected'],
      ['warn', { token: 'agents' }, 'limited'],
      ['info', { reason: 'unknown', suppressed: 99 }, 'rejected'],
    ]);
  } finally {
    jest.useRealTimers();
  }
});

test('INFO memory is parsed', () => {
  const info = '# Memory\r\nused_memory:16777999\r\nused_memory_human:16.00M\r\nmaxmemory:16777216\r\nmaxmemory_policy:noeviction\r\n';
  expect(parseInfoMemory(info)).toEqual({ usedBytes: 16777999, maxBytes: 16777216 });
  expect(parseInfoMemory('')).toEqual({ usedBytes: 0, maxBytes: 0 });
});

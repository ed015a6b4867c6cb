import { HOUSEKEEPING_PERIOD_MS, HousekeepingSchedule } from '../../shared/store/housekeeping-schedule';
import { COARSE_RETENTION_MS } from '../../shared/store/keys';

describe('when an apply tidies a per-node or per-process sorted set', () => {
  const start = Date.UTC(2026, 10, 27, 2, 0, 17);
  const keys = Array.from({ length: 2000 }, (_, i) => `na:{p${i % 4}of4-1}:node:procs:host-${i}.example`);
  const minutes = Array.from({ length: HOUSEKEEPING_PERIOD_MS / 60_000 }, (_, m) => new HousekeepingSchedule(start + m * 60_000));

  test('every key is due in exactly one minute of each hour, the same minute every hour', () => {
    for (const key of keys) {
      const due = minutes.filter((schedule) => schedule.due(key));
      expect({ key, times: due.length }).toEqual({ key, times: 1 });
      const nextHour = new HousekeepingSchedule(due[0]!.nowMs + HOUSEKEEPING_PERIOD_MS);
      expect(nextHour.due(key)).toBe(true);
    }
  });

  test('the keys spread over the hour: no minute tidies more than three times its share', () => {
    for (const schedule of minutes) {
      expect(keys.filter((key) => schedule.due(key)).length).toBeLessThanOrEqual((3 * keys.length) / minutes.length);
    }
  });

  test('a tidied set lives an hour past the retention after now, and forgets members older than the retention', () => {
    const schedule = new HousekeepingSchedule(start);
    expect(schedule.keepUntil).toBe(Math.ceil((start + COARSE_RETENTION_MS + HOUSEKEEPING_PERIOD_MS) / 1000));
    expect(schedule.forgetBefore).toBe(start - COARSE_RETENTION_MS);
  });
});

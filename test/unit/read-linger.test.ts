import { FILL_TARGET_SAMPLES, MAX_LINGER_FACTOR, QUIET_SAMPLES_PER_MS, readLingerMs } from '../../worker/read-linger';

describe('how long a read waits while the stream trickles', () => {
  test('after a quick batch: the setting', () => {
    expect(readLingerMs(10, 0)).toBe(10);
    expect(readLingerMs(10, 3)).toBe(10);
  });

  test('after a slower batch: as long as it took', () => {
    expect(readLingerMs(10, 17.5)).toBe(17.5);
  });

  test('never more than MAX_LINGER_FACTOR times the setting', () => {
    expect(readLingerMs(10, 5000)).toBe(10 * MAX_LINGER_FACTOR);
  });

  test('0 turns lingering off whatever the last batch took or the stream brings', () => {
    expect(readLingerMs(0, 50)).toBe(0);
    expect(readLingerMs(0, 0, { samples: 20, windowMs: 10 })).toBe(0);
  });

  describe('a busy stream of thin entries (single POSTs)', () => {
    test('waits as long as gathering the fill target takes at the rate seen', () => {
      // 32 samples in 10 ms: 3.2 a ms, so 64 take 20 ms.
      expect(readLingerMs(10, 1, { samples: 32, windowMs: 10 })).toBeCloseTo(FILL_TARGET_SAMPLES / 3.2);
    });

    test('up to MAX_LINGER_FACTOR times the setting', () => {
      // 12 samples in 12 ms (1 a ms, busy) would need 64 ms.
      expect(readLingerMs(10, 1, { samples: 12, windowMs: 12 })).toBe(10 * MAX_LINGER_FACTOR);
    });

    test('never less than the setting, nor than the last batch took', () => {
      // 60 samples in 6 ms: 10 a ms, so 64 take 6.4 ms.
      expect(readLingerMs(10, 1, { samples: 60, windowMs: 6 })).toBe(10);
      expect(readLingerMs(10, 25, { samples: 60, windowMs: 6 })).toBe(25);
    });
  });

  test('a quiet stream keeps the setting, so its samples are visible soon', () => {
    expect(readLingerMs(10, 1, { samples: QUIET_SAMPLES_PER_MS * 50, windowMs: 50 })).toBe(10);
    expect(readLingerMs(10, 1, { samples: 1, windowMs: 500 })).toBe(10);
  });

  test('above a quiet rate the linger grows with the rate: no rate is a cliff', () => {
    // Twice the quiet rate: twice the setting (64 samples would take longer).
    expect(readLingerMs(10, 1, { samples: QUIET_SAMPLES_PER_MS * 2 * 50, windowMs: 50 })).toBeCloseTo(20);
    expect(readLingerMs(10, 1, { samples: QUIET_SAMPLES_PER_MS * 3 * 50, windowMs: 50 })).toBeCloseTo(30);
    expect(readLingerMs(10, 1, { samples: QUIET_SAMPLES_PER_MS * 4 * 50, windowMs: 50 })).toBe(10 * MAX_LINGER_FACTOR);
  });

  test('a read that found the fill target or more (batches) lingers as before', () => {
    expect(readLingerMs(10, 1, { samples: FILL_TARGET_SAMPLES, windowMs: 40 })).toBe(10);
    expect(readLingerMs(10, 1, { samples: 5000, windowMs: 12 })).toBe(10);
  });

  test('a read that found nothing, or no window, changes nothing', () => {
    expect(readLingerMs(10, 1, { samples: 0, windowMs: 10 })).toBe(10);
    expect(readLingerMs(10, 1, { samples: 20, windowMs: 0 })).toBe(10);
  });
});

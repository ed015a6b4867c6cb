import { MAX_LINGER_FACTOR, readLingerMs } from '../../worker/read-linger';

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

  test('0 turns lingering off whatever the last batch took', () => {
    expect(readLingerMs(0, 50)).toBe(0);
  });
});

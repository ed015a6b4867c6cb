/** Which Redis versions crash when a slot moves under a worker's blocked stream read, and what the worker says. */
import { crashesWhenSlotMovesUnderBlockedRead, redisVersionOf, slotMoveHazardWarning } from '../../shared/store/slot-move-hazard';

test('reads redis_version from INFO server', () => {
  expect(redisVersionOf('# Server\r\nredis_version:7.2.6\r\nredis_git_sha1:00000000\r\n')).toEqual([7, 2, 6]);
  expect(redisVersionOf('# Server\r\nredis_version:7.0.15\r\n')).toEqual([7, 0, 15]);
  expect(redisVersionOf('# Server\r\nredis_mode:cluster\r\n')).toBeUndefined();
  expect(redisVersionOf('redis_version:unknown\r\n')).toBeUndefined();
});

test.each([
  ['7.0.15', false],
  ['7.2.0', true],
  ['7.2.6', true],
  ['7.2.7', false],
  ['7.4.0', false],
  ['8.0.2', false],
  ['6.2.14', false],
])('Redis %s crashes on a slot move under a blocked read: %s', (version, crashes) => {
  expect(crashesWhenSlotMovesUnderBlockedRead(redisVersionOf(`redis_version:${version}`)!)).toBe(crashes);
});

test('the warning names the affected masters and their versions, and only them', () => {
  const warning = slotMoveHazardWarning([
    { address: '10.0.0.1:6379', version: [7, 2, 4] },
    { address: '10.0.0.2:6379', version: [7, 2, 7] },
    { address: '10.0.0.3:6379', version: undefined },
    { address: '10.0.0.4:6379', version: [7, 2, 6] },
  ]);
  expect(warning).toMatch(
    /^The masters 10\.0\.0\.1:6379 \(7\.2\.4\), 10\.0\.0\.4:6379 \(7\.2\.6\) run a Redis that crashes when a slot moves/,
  );
  expect(warning).toContain('fixed in 7.2.7');
  expect(warning).toContain('docs/RUNBOOK.md, "Moving slots"');
});

test('no warning when no master is affected, or on a single Redis', () => {
  expect(slotMoveHazardWarning([{ address: '10.0.0.1:6379', version: [7, 4, 1] }])).toBeUndefined();
  expect(slotMoveHazardWarning([])).toBeUndefined();
});

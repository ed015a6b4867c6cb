/**
 * The read-after-write waiter against a stream that moves between its two reads: an entry
 * is delivered to a worker right after the waiter looked at the pending list. Read in the
 * wrong order (or in parallel, where a redirected XINFO comes back last), the waiter sees
 * "delivered, and nothing pending" and answers before the entry is applied.
 */
import type { RedisClient } from '../../shared/redis';
import { partitionKeys } from '../../shared/store/keys';
import { ConsistencyWaiter } from '../../ingest/consistency-waiter';

const ENTRY = '1700000000000-0';

/** A stream whose one entry is delivered after the first XPENDING, and applied `appliedAfterPolls` XPENDINGs later. */
function movingStream(appliedAfterPolls: number) {
  let pendingReads = 0;
  const state = () => (pendingReads === 0 ? 'appended' : pendingReads <= appliedAfterPolls ? 'delivered' : 'applied');
  const client = {
    // XINFO GROUPS answers a moment later (as after a redirection), XPENDING at once.
    sendCommand(command: { name: string; resolve(value: unknown): void; promise: Promise<unknown> }) {
      setTimeout(() => {
        const delivered = state() === 'appended' ? '0-0' : ENTRY;
        command.resolve([['name', 'workers', 'consumers', 1, 'pending', 0, 'last-delivered-id', delivered]]);
      }, 5);
      return command.promise;
    },
    async xpending() {
      const now = state();
      pendingReads += 1;
      return now === 'delivered' ? [1, ENTRY, ENTRY, [['c1', '1']]] : [0, null, null, null];
    },
  };
  return { client: client as unknown as RedisClient, state };
}

test('the waiter answers only once the entry is applied, not when it is delivered and still pending', async () => {
  const stream = movingStream(3);
  const waiter = new ConsistencyWaiter(stream.client, [partitionKeys('t', 0, 1)], 'workers', 5_000, 10);
  await waiter.waitFor([{ partition: 0, id: ENTRY }]);
  expect(stream.state()).toBe('applied');
});

test('a hint that comes while a poll runs makes the waiter poll again at once, not after its pause', async () => {
  // The entry is applied, and its hint sent, just after the first poll read it as pending: only
  // a second poll can see it applied, and the pause before it would be ten minutes long.
  let applied = false;
  let pendingReads = 0;
  const client = {
    sendCommand(command: { resolve(value: unknown): void; promise: Promise<unknown> }) {
      command.resolve([['name', 'workers', 'consumers', 1, 'pending', 0, 'last-delivered-id', ENTRY]]);
      return command.promise;
    },
    async xpending() {
      pendingReads += 1;
      if (applied) return [0, null, null, null];
      applied = true;
      waiter.applied(0);
      return [1, ENTRY, ENTRY, [['c1', '1']]];
    },
  };
  const waiter = new ConsistencyWaiter(client as unknown as RedisClient, [partitionKeys('t', 0, 1)], 'workers', 5_000, 10, 600_000);
  await waiter.waitFor([{ partition: 0, id: ENTRY }]);
  expect(pendingReads).toBe(2);
});

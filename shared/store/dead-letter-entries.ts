/**
 * A dead letter's entry in Redis: acknowledged and marked when dead-lettered
 * (acknowledge-dead-letter.lua), appended to its stream again at most once when replayed
 * (replay-entry.lua), unmarked when purged. The mark is what tells a letter whose entry no
 * consumer applied from one whose entry a consumer applied after all.
 */
import { partitionKeys, type PartitionKeys } from './keys';
import { registerScripts } from './scripts';
import type { RedisClient } from '../redis';

/** How long a replayed entry stays marked, so a retried replay appends nothing. */
const REPLAY_MARK_TTL_SECONDS = 7 * 86400;

/** What dead-lettering an entry found: acknowledged it (or another consumer did), or a consumer applied it first. */
export type DeadLetterAcknowledgement = 'acknowledged' | 'acknowledged-before' | 'applied';

const ACKNOWLEDGEMENTS: Record<number, DeadLetterAcknowledgement> = { 1: 'acknowledged', 2: 'acknowledged-before', 0: 'applied' };

export async function acknowledgeDeadLetter(
  redis: RedisClient,
  keys: PartitionKeys,
  group: string,
  entryId: string,
): Promise<DeadLetterAcknowledgement> {
  registerScripts(redis);
  const code = await redis.acknowledgeDeadLetter(keys.stream, keys.meta, keys.deadLettered(entryId), group, entryId, Date.now());
  const outcome = ACKNOWLEDGEMENTS[code];
  if (outcome === undefined) throw new Error(`acknowledge-dead-letter answered an unknown code ${code}`);
  return outcome;
}

/**
 * What a replay did with a letter: `replayed` appended now, `replayed-before` by an earlier
 * replay, `pending` left the entry alone (its dead-lettering has not finished), `applied`
 * found that a consumer applied the entry (the letter would count it twice).
 */
export type ReplayResult = 'replayed' | 'replayed-before' | 'pending' | 'applied';

const REPLAY_RESULTS: Record<number, ReplayResult> = { 1: 'replayed', 0: 'replayed-before', 2: 'pending', 3: 'applied' };

export interface ReplayedLetter {
  partition: number;
  entryId: string;
  fields: readonly string[];
  /** False for a letter written before entries were marked when dead-lettered: replayed without the check. */
  markerRequired: boolean;
}

export async function replayEntry(
  redis: RedisClient,
  prefix: string,
  partitionCount: number,
  group: string,
  letter: ReplayedLetter,
): Promise<ReplayResult> {
  registerScripts(redis);
  const keys = partitionKeys(prefix, letter.partition, partitionCount);
  const [code] = await redis.replayEntry(
    keys.stream,
    keys.replayed(letter.entryId),
    keys.deadLettered(letter.entryId),
    REPLAY_MARK_TTL_SECONDS,
    group,
    letter.entryId,
    letter.markerRequired ? '1' : '0',
    ...letter.fields,
  );
  const result = REPLAY_RESULTS[code];
  if (result === undefined) throw new Error(`replay-entry answered an unknown code ${code}`);
  return result;
}

/** Before a letter is purged: its entry is no longer one a replay could append. */
export async function unmarkDeadLetter(
  redis: RedisClient,
  prefix: string,
  partitionCount: number,
  partition: number,
  entryId: string,
): Promise<void> {
  await redis.del(partitionKeys(prefix, partition, partitionCount).deadLettered(entryId));
}

/**
 * The storage format of the aggregates is part of the data: a service that read buckets of
 * another format would answer wrong figures, and merging into them would corrupt them. The
 * format's version is recorded in Redis at first start; a service meeting another version
 * refuses to start and says what to do (as the partition count does).
 */
import { globalKeys } from './keys';
import type { RedisClient } from '../redis';
import { isOutOfMemory } from './redis-errors';

/**
 * 5: a node's 1-second buckets are fields of one hash per partition and minute, not a hash per node and hour.
 * 4: node summaries are binary doubles (summary-codec.ts) in one hash per partition, not a hash of decimal text per node.
 * 3: partition hash tags depend on the partition count (partition-tag.ts: `{p<i>of<N>}`).
 * 2: tags `{p<i>}`; buckets stored as binary doubles with named fields (bucket-codec.ts).
 * 1: the earlier decimal text.
 */
export const STORAGE_SCHEMA_VERSION = 5;

/** What changed since an older format, so the refusal can say what the data is. */
const CHANGED_SINCE: Record<number, string> = {
  1: 'buckets were decimal text and partition keys carried the tags {p<i>}',
  2: 'partition keys carried the tags {p<i>}, now {p<i>of<N>} so partitions spread evenly over Redis Cluster slots',
  3: 'node summaries were hashes of decimal text, now binary fields of one hash per partition',
  4: "a node's 1-second buckets were a hash per node and hour, now fields of one hash per partition and minute",
};

export class SchemaVersionMismatchError extends Error {
  constructor(prefix: string, recorded: number) {
    const changed = CHANGED_SINCE[recorded];
    super(
      `The aggregates under KEY_PREFIX "${prefix}" are stored in format ${recorded}, but this version reads and writes format ${STORAGE_SCHEMA_VERSION}` +
        `${changed ? ` (in format ${recorded} ${changed})` : ''}. ` +
        `Run the version that wrote them, or start with another KEY_PREFIX (or delete the keys "${prefix}:*") to begin with empty aggregates.`,
    );
    this.name = 'SchemaVersionMismatchError';
  }
}

/**
 * At start: records the version on a Redis that holds no data of this prefix yet; refuses
 * another recorded version, and data written before versions were recorded (format 1:
 * the partition count is there but no version). Reads first, so a restart under memory
 * pressure (writes refused) still starts. Runs before the partition count is recorded.
 */
export async function checkSchemaVersion(redis: RedisClient, prefix: string): Promise<void> {
  const keys = globalKeys(prefix);
  let recorded = await redis.get(keys.schemaVersion);
  if (recorded === null) {
    if ((await redis.exists(keys.partitionCount)) === 1) throw new SchemaVersionMismatchError(prefix, 1);
    await redis.set(keys.schemaVersion, String(STORAGE_SCHEMA_VERSION), 'NX').catch((error: Error) => {
      if (!isOutOfMemory(error)) throw error; // recorded on a later start
    });
    recorded = (await redis.get(keys.schemaVersion)) ?? String(STORAGE_SCHEMA_VERSION);
  }
  if (Number(recorded) !== STORAGE_SCHEMA_VERSION) throw new SchemaVersionMismatchError(prefix, Number(recorded));
}

import type Redis from 'ioredis';
import type { DecodedEntry } from '../../shared/store/batch-apply';
import { encodeSamples, ENTRY_FIELD } from '../../shared/store/entry-codec';
import type { PartitionKeys } from '../../shared/store/keys';
import { ensureGroup } from '../../shared/store/stream-groups';
import type { Sample } from '../../shared/samples';
import { baseTime } from './build-sample';

/**
 * One entry holding a node sample of each of `nodes` (at `at`), appended to the partition's
 * stream and read into the group by consumer c1: pending, ready to apply.
 */
export async function pendingEntry(
  client: Redis,
  keys: PartitionKeys,
  group: string,
  nodes: string | readonly string[],
  at = baseTime(),
): Promise<DecodedEntry> {
  await ensureGroup(client, keys.stream, group);
  const samples: Sample[] = (typeof nodes === 'string' ? [nodes] : nodes).map((node) => ({
    kind: 'node',
    node,
    at,
    timeslice: 1,
    cpu: 10,
    mem: 20,
  }));
  const id = (await client.xadd(keys.stream, '*', ENTRY_FIELD, encodeSamples(samples)))!;
  await client.xreadgroup('GROUP', group, 'c1', 'COUNT', 1, 'STREAMS', keys.stream, '>');
  return { id, samples };
}

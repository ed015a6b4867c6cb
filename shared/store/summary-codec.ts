/**
 * The one definition of a node summary (a node's latest sample and the first time it was
 * seen) and how it is stored: IEEE 754 doubles, little endian, in field order, as the value
 * of the node's field in its partition's summary hash. The apply merges it (mergeStoredNodeSummary
 * in a transaction, the Lua snippet generated here in apply-batch.lua), the readers decode it.
 *
 * Binary in one hash per partition, not a hash of decimal fields per node: merging per-node
 * hashes took two commands per node and apply, an HMGET whose reply became a Lua table and
 * six text-to-number conversions; now one HMGET and one HSET serve every node of an apply,
 * and the merge is two struct.unpack calls.
 */

/** Fields in storage order. */
export const NODE_SUMMARY_FIELDS = [
  /** time of the latest sample (ms) */
  'last_at',
  /** the latest sample's values */
  'cpu',
  'mem',
  'timeslice',
  /** time of the earliest sample seen (ms) */
  'first_at',
] as const;

export type NodeSummary = Record<(typeof NODE_SUMMARY_FIELDS)[number], number>;

const BYTES = NODE_SUMMARY_FIELDS.length * 8;

export class NodeSummaryDecodeError extends Error {
  constructor(bytes: number) {
    super(`a stored node summary has ${bytes} bytes, expected ${BYTES}`);
    this.name = 'NodeSummaryDecodeError';
  }
}

export function encodeNodeSummary(summary: NodeSummary): Buffer {
  const out = Buffer.allocUnsafe(BYTES);
  NODE_SUMMARY_FIELDS.forEach((name, i) => out.writeDoubleLE(summary[name], i * 8));
  return out;
}

export function decodeNodeSummary(stored: Buffer): NodeSummary {
  if (stored.length !== BYTES) throw new NodeSummaryDecodeError(stored.length);
  const summary = {} as NodeSummary;
  NODE_SUMMARY_FIELDS.forEach((name, i) => (summary[name] = stored.readDoubleLE(i * 8)));
  return summary;
}

/**
 * The summary hash's field '' holds this value, longer than hash-max-listpack-value, so the
 * hash stays a hash table: in a listpack (up to 512 fields by default) every field read or
 * written is a linear scan. Readers skip the field.
 */
export const SUMMARY_HASH_MARKER = 'node summaries: this value outgrows a listpack value, so the hash stays a hash table';

const LAST_AT_OFFSET = NODE_SUMMARY_FIELDS.indexOf('last_at') * 8;
const FIRST_AT_OFFSET = NODE_SUMMARY_FIELDS.indexOf('first_at') * 8;

/** The latest sample's time of a stored summary, without decoding the rest. */
export function storedLastAt(stored: Buffer): number {
  if (stored.length !== BYTES) throw new NodeSummaryDecodeError(stored.length);
  return stored.readDoubleLE(LAST_AT_OFFSET);
}

/**
 * What the Lua merge does, on the stored forms: the later sample's values win (ties to
 * `delta`), with the earlier first time. Reads only the two times: an apply merges every
 * node's summary, and decoding both into objects was most of the worker's garbage.
 */
export function mergeStoredNodeSummary(stored: Buffer, delta: Buffer): Buffer {
  if (stored.length !== BYTES) throw new NodeSummaryDecodeError(stored.length);
  const latest = stored.readDoubleLE(LAST_AT_OFFSET) > delta.readDoubleLE(LAST_AT_OFFSET) ? stored : delta;
  const firstAt = Math.min(stored.readDoubleLE(FIRST_AT_OFFSET), delta.readDoubleLE(FIRST_AT_OFFSET));
  const merged = Buffer.from(latest);
  merged.writeDoubleLE(firstAt, FIRST_AT_OFFSET);
  return merged;
}

/**
 * The Lua side: `mergeNodeSummary(stored, delta)` answers the merged summary (the later
 * sample's values win, ties to the delta; the earliest first time); `nodeSummarySizeOk(stored)`
 * lets a script check a stored value before it writes.
 */
export function luaNodeSummaryCodec(): string {
  const format = `'<${'d'.repeat(NODE_SUMMARY_FIELDS.length)}'`;
  return `-- Generated from shared/store/summary-codec.ts: ${NODE_SUMMARY_FIELDS.join(', ')}.
local SUMMARY_HASH_MARKER = '${SUMMARY_HASH_MARKER}'
local function nodeSummarySizeOk(stored)
  return #stored == ${BYTES}
end

local function mergeNodeSummary(stored, delta)
  local sAt, sCpu, sMem, sSlice, sFirst = struct.unpack(${format}, stored)
  local dAt, dCpu, dMem, dSlice, dFirst = struct.unpack(${format}, delta)
  if sAt > dAt then dAt, dCpu, dMem, dSlice = sAt, sCpu, sMem, sSlice end
  if sFirst < dFirst then dFirst = sFirst end
  return struct.pack(${format}, dAt, dCpu, dMem, dSlice, dFirst)
end
`;
}

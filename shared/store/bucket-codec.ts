/**
 * The one definition of a time bucket (README, "Window semantics and resolution"): its
 * named fields, how two buckets merge, and how a bucket is stored. The planner builds
 * deltas with it, the Lua scripts merge with the snippet generated from it, the readers
 * decode with it.
 *
 * Stored as IEEE 754 doubles, little endian, in field order (48 bytes for a sum bucket, 80
 * for a bucket with extremes): exact, and Lua merges it with struct.unpack/struct.pack
 * (measured 2.6 µs Redis CPU per merged bucket including HGET and HSET, against 13.6 µs for
 * the decimal text this replaced and 13.7 µs for HINCRBYFLOAT on named hash fields, which
 * also rounds through long double).
 */

export type MergeRule = 'sum' | 'min' | 'max';

/**
 * Besides its buckets (fields named by bucket number), a bucket hash records the expiry it
 * was given, so the apply sets EXPIREAT once, when it creates the hash, not on every call.
 */
export const EXPIRY_FIELD = 'expires_at';

/** Fields in storage order; the extremes follow the sums only in per-node buckets. */
export const BUCKET_FIELDS = [
  /** sum of cpu × timeslice (cpu_used for processes) */
  { name: 'cpu_seconds', merge: 'sum' },
  /** sum of mem × timeslice (mem_used for processes) */
  { name: 'mem_seconds', merge: 'sum' },
  /** sum of timeslices */
  { name: 'seconds', merge: 'sum' },
  { name: 'samples', merge: 'sum' },
  /** earliest start of a sample's timeslice (at - timeslice, ms) */
  { name: 'covers_from_ms', merge: 'min' },
  /** latest sample time (ms) */
  { name: 'last_sample_ms', merge: 'max' },
  { name: 'cpu_min', merge: 'min' },
  { name: 'cpu_max', merge: 'max' },
  { name: 'mem_min', merge: 'min' },
  { name: 'mem_max', merge: 'max' },
] as const satisfies readonly { name: string; merge: MergeRule }[];

/** Fields of a sum bucket; a bucket with extremes has all of BUCKET_FIELDS. */
export const SUM_FIELD_COUNT = 6;

export interface BucketExtremes {
  cpu_min: number;
  cpu_max: number;
  mem_min: number;
  mem_max: number;
}

export interface BucketStats extends Partial<BucketExtremes> {
  cpu_seconds: number;
  mem_seconds: number;
  seconds: number;
  samples: number;
  covers_from_ms: number;
  last_sample_ms: number;
}

type FieldName = (typeof BUCKET_FIELDS)[number]['name'];

export class BucketDecodeError extends Error {
  constructor(bytes: number) {
    super(`a stored bucket has ${bytes} bytes, expected ${SUM_FIELD_COUNT * 8} or ${BUCKET_FIELDS.length * 8}`);
    this.name = 'BucketDecodeError';
  }
}

function hasExtremes(stats: BucketStats): stats is BucketStats & BucketExtremes {
  return stats.cpu_min !== undefined;
}

/** One sample as a bucket: extremes only where the bucket keeps them. */
export function sampleBucket(cpu: number, mem: number, timeslice: number, at: number, extremes: boolean): BucketStats {
  const stats: BucketStats = {
    cpu_seconds: cpu * timeslice,
    mem_seconds: mem * timeslice,
    seconds: timeslice,
    samples: 1,
    covers_from_ms: at - timeslice * 1000,
    last_sample_ms: at,
  };
  if (extremes) Object.assign(stats, { cpu_min: cpu, cpu_max: cpu, mem_min: mem, mem_max: mem });
  return stats;
}

/** Adds `delta` into `into` by each field's rule (what the Lua merge does). */
export function mergeInto(into: BucketStats, delta: BucketStats): void {
  const count = hasExtremes(into) && hasExtremes(delta) ? BUCKET_FIELDS.length : SUM_FIELD_COUNT;
  const target = into as Record<FieldName, number>;
  const source = delta as Record<FieldName, number>;
  for (let i = 0; i < count; i++) {
    const { name, merge } = BUCKET_FIELDS[i]!;
    const a = target[name];
    const b = source[name];
    target[name] = merge === 'sum' ? a + b : merge === 'min' ? Math.min(a, b) : Math.max(a, b);
  }
}

/**
 * Adds one sample into `into` by each field's rule: what `mergeInto(into, sampleBucket(...))`
 * does, without building the sample's bucket (the planner folds every sample this way).
 */
export function addSampleInto(into: BucketStats, cpu: number, mem: number, timeslice: number, at: number): void {
  into.cpu_seconds += cpu * timeslice;
  into.mem_seconds += mem * timeslice;
  into.seconds += timeslice;
  into.samples += 1;
  into.covers_from_ms = Math.min(into.covers_from_ms, at - timeslice * 1000);
  into.last_sample_ms = Math.max(into.last_sample_ms, at);
  if (hasExtremes(into)) {
    into.cpu_min = Math.min(into.cpu_min, cpu);
    into.cpu_max = Math.max(into.cpu_max, cpu);
    into.mem_min = Math.min(into.mem_min, mem);
    into.mem_max = Math.max(into.mem_max, mem);
  }
}

export function encodeBucket(stats: BucketStats): Buffer {
  const count = hasExtremes(stats) ? BUCKET_FIELDS.length : SUM_FIELD_COUNT;
  const out = Buffer.allocUnsafe(count * 8);
  const fields = stats as Record<FieldName, number>;
  for (let i = 0; i < count; i++) out.writeDoubleLE(fields[BUCKET_FIELDS[i]!.name], i * 8);
  return out;
}

export function decodeBucket(stored: Buffer): BucketStats {
  const count = stored.length / 8;
  if (count !== SUM_FIELD_COUNT && count !== BUCKET_FIELDS.length) throw new BucketDecodeError(stored.length);
  const stats = {} as Record<FieldName, number>;
  for (let i = 0; i < count; i++) stats[BUCKET_FIELDS[i]!.name] = stored.readDoubleLE(i * 8);
  return stats as BucketStats;
}

/**
 * What mergeInto does, on the stored forms: a stored bucket with a delta of the same form,
 * merged field by field into a new stored bucket. The transaction merges every stored bucket
 * it touches: decoding both into objects, merging and encoding took about 8 % of the worker's
 * busy time under single POSTs, and 2.5 times as long per merge as this (docs/BENCHMARKS.md,
 * "a node's time written once a minute").
 */
export function mergeStoredBucket(stored: Buffer, delta: Buffer): Buffer {
  const count = stored.length / 8;
  if (delta.length !== stored.length || (count !== SUM_FIELD_COUNT && count !== BUCKET_FIELDS.length)) {
    throw new BucketDecodeError(stored.length);
  }
  const out = Buffer.allocUnsafe(stored.length);
  for (let i = 0; i < count; i++) {
    const a = stored.readDoubleLE(i * 8);
    const b = delta.readDoubleLE(i * 8);
    const merge = BUCKET_FIELDS[i]!.merge;
    out.writeDoubleLE(merge === 'sum' ? a + b : merge === 'min' ? Math.min(a, b) : Math.max(a, b), i * 8);
  }
  return out;
}

/** Every bucket of a whole bucket hash (HGETALL), without its expiry record. */
export function storedBuckets(hash: Record<string, Buffer>): BucketStats[] {
  return Object.entries(hash)
    .filter(([field]) => field !== EXPIRY_FIELD)
    .map(([, stored]) => decodeBucket(stored));
}

/**
 * Lua that merges two stored buckets of `count` fields: unpacked into locals and packed
 * again in one expression, generated from the field rules (a loop over tables cost 5.1 µs
 * of Redis CPU per merge, this 1.7 µs).
 */
function luaMergeOf(count: number): string {
  const format = `'<${'d'.repeat(count)}'`;
  const c = BUCKET_FIELDS.slice(0, count).map((_, i) => `c${i + 1}`);
  const d = BUCKET_FIELDS.slice(0, count).map((_, i) => `d${i + 1}`);
  const merged = BUCKET_FIELDS.slice(0, count).map(({ name, merge }, i) => {
    const [a, b] = [c[i], d[i]];
    const expression =
      merge === 'sum' ? `${a} + ${b}` : merge === 'min' ? `(${a} < ${b} and ${a} or ${b})` : `(${a} > ${b} and ${a} or ${b})`;
    return `    ${expression}, -- ${name}`;
  });
  return `function(current, delta)
  local ${c.join(', ')} = struct.unpack(${format}, current)
  local ${d.join(', ')} = struct.unpack(${format}, delta)
  return struct.pack(${format},
${merged.join('\n').replace(/,( -- [a-z_]+)$/, '$1')}
  )
end`;
}

/**
 * The Lua side of the codec, prepended to the scripts that merge buckets: the same field
 * names, rules and stored form, and `mergeBucket(current, delta)` on stored values.
 * `bucketSizeOk(stored, delta)` lets a script check stored values before it writes anything.
 */
export function luaBucketCodec(): string {
  const names = BUCKET_FIELDS.map((f) => `'${f.name}'`).join(', ');
  const rules = BUCKET_FIELDS.map((f) => `'${f.merge}'`).join(', ');
  const sumBytes = SUM_FIELD_COUNT * 8;
  const fullBytes = BUCKET_FIELDS.length * 8;
  return `-- Generated from shared/store/bucket-codec.ts: the bucket's named fields, merge rules and stored form.
local BUCKET_FIELDS = { ${names} }
local BUCKET_MERGE = { ${rules} }
local BUCKET_EXPIRY_FIELD = '${EXPIRY_FIELD}'
local BUCKET_MERGES = {
  [${sumBytes}] = ${luaMergeOf(SUM_FIELD_COUNT)},
  [${fullBytes}] = ${luaMergeOf(BUCKET_FIELDS.length)},
}

local function bucketSizeOk(stored, delta)
  return #stored == #delta and BUCKET_MERGES[#stored] ~= nil
end

-- Sums add, minima take the least, maxima the greatest (BUCKET_MERGE, field by field).
local function mergeBucket(current, delta)
  return BUCKET_MERGES[#delta](current, delta)
end
`;
}

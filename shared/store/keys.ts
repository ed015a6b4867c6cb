/**
 * The only place a Redis key is built. Every key of a partition carries its hash tag
 * (partition-tag.ts: `{p<i>of<N>}`, perhaps with a salt), so one partition's atomic update
 * stays in one Redis Cluster slot, and the partitions spread evenly over the slot ranges.
 */
import { partitionTag } from './partition-tag';

/** Fine buckets are 1 s wide and grouped into one hash per hour. */
export const FINE_BUCKET_MS = 1000;
export const FINE_CHUNK_MS = 3600 * 1000;
/**
 * A node's fine buckets are grouped into one hash per partition and minute, a field per node
 * and second (nodeSecondField): an apply then reads and writes one hash for all its nodes,
 * and a minute's hash stays small enough to free at once when it expires.
 */
export const NODE_SECONDS_CHUNK_MS = 60 * 1000;
/** Coarse buckets are 1 min wide and grouped into one hash per day. */
export const COARSE_BUCKET_MS = 60 * 1000;
export const COARSE_CHUNK_MS = 24 * 3600 * 1000;

/** How long buckets live after their chunk ends (README, "Window semantics": 1 s for 1 h, 1 min for 24 h). */
export const FINE_RETENTION_MS = 2 * 3600 * 1000;
export const COARSE_RETENTION_MS = 25 * 3600 * 1000;

export interface PartitionKeys {
  readonly partition: number;
  /** The partition count this partition belongs to (its tag depends on it). */
  readonly count: number;
  /** The hash tag's content, e.g. `p1of4-2`: every key below is `<prefix>:{<tag>}:<name>`. */
  readonly tag: string;
  /** This partition's key of the given name (the part after the tag). */
  named(name: string): string;
  readonly stream: string;
  /** node name -> its latest node sample time (ms), or a time at most a step before it (node-times.ts) */
  readonly nodes: string;
  /** one member (FLEET_LATEST_MEMBER) scored with the partition's latest node sample time (ms): where fleet windows end */
  readonly fleetLatest: string;
  /** the same node names, all with score 0: a lexicographic index for paging (ZRANGE BYLEX) */
  readonly nodeNames: string;
  /** process name -> latest process sample time (ms) */
  readonly processes: string;
  /** partition bookkeeping: last applied time; `partitions` (the count this partition belongs to) and `paused` guard appends */
  readonly meta: string;
  /** marks a dead-lettered entry as replayed, so a retried replay appends nothing */
  replayed(entryId: string): string;
  /** exists from the acknowledgement that dead-lettered the entry until its letter is replayed or purged: replay requires it */
  deadLettered(entryId: string): string;
  /** marks a removed partition's bucket hash as merged into this one (merge-buckets.lua), so a re-run merges nothing */
  mergeMarker(sourceKey: string): string;
  /** the parts of one oversized entry already applied (apply-batch.lua) */
  entryParts(entryId: string): string;
  /**
   * One Idempotency-Key's record for this partition (the key's hash: any visible characters
   * are safe): the request's fingerprint, its accepted count and its entry id here.
   */
  idempotency(keyHash: string): string;
  /** exists while the consumer is alive (refreshed with a TTL); the janitor never removes it meanwhile */
  consumerHeartbeat(consumer: string): string;
  fleetFine(chunk: number): string;
  fleetCoarse(chunk: number): string;
  /** all processes together: the time span the process list covers */
  allProcessesFine(chunk: number): string;
  allProcessesCoarse(chunk: number): string;
  processFine(chunk: number, process: string): string;
  processCoarse(chunk: number, process: string): string;
  /** node name -> latest sample time of that process on that node */
  processNodes(process: string): string;
  /** every node's 1-second buckets of one minute (with extremes), a field per node and second (nodeSecondField) */
  nodeSeconds(chunk: number): string;
  /** node name -> its summary (summary codec); a node leaves it when it leaves `nodes` */
  readonly nodeSummaries: string;
  /** process name -> latest sample time on that node */
  nodeProcesses(node: string): string;
  /** Sharded pub/sub channel (in the partition's slot): "entries were just applied" (applied-signals.ts). */
  readonly appliedChannel: string;
}

export function partitionKeys(prefix: string, partition: number, count: number): PartitionKeys {
  const tag = partitionTag(partition, count);
  const base = `${prefix}:{${tag}}`;
  return {
    partition,
    count,
    tag,
    named: (name) => `${base}:${name}`,
    stream: `${base}:stream`,
    nodes: `${base}:nodes`,
    fleetLatest: `${base}:fleet:latest`,
    nodeNames: `${base}:nodes:lex`,
    processes: `${base}:procs`,
    meta: `${base}:meta`,
    replayed: (entryId) => `${base}:replayed:${entryId}`,
    deadLettered: (entryId) => `${base}:dead-lettered:${entryId}`,
    mergeMarker: (sourceKey) => `${base}:merged:${sourceKey}`,
    entryParts: (entryId) => `${base}:parts:${entryId}`,
    idempotency: (keyHash) => `${base}:idem:${keyHash}`,
    consumerHeartbeat: (consumer) => `${base}:alive:${consumer}`,
    fleetFine: (chunk) => `${base}:fleet:s:${chunk}`,
    fleetCoarse: (chunk) => `${base}:fleet:m:${chunk}`,
    allProcessesFine: (chunk) => `${base}:procs:s:${chunk}`,
    allProcessesCoarse: (chunk) => `${base}:procs:m:${chunk}`,
    processFine: (chunk, process) => `${base}:proc:s:${chunk}:${process}`,
    processCoarse: (chunk, process) => `${base}:proc:m:${chunk}:${process}`,
    processNodes: (process) => `${base}:proc:nodes:${process}`,
    nodeSeconds: (chunk) => `${base}:nodes:s:${chunk}`,
    nodeSummaries: `${base}:nodes:sum`,
    nodeProcesses: (node) => `${base}:node:procs:${node}`,
    appliedChannel: `${base}:applied`,
  };
}

export function allPartitionKeys(prefix: string, partitions: number): PartitionKeys[] {
  return Array.from({ length: partitions }, (_, p) => partitionKeys(prefix, p, partitions));
}

export function fineBucketOf(timeMs: number): number {
  return Math.floor(timeMs / FINE_BUCKET_MS);
}
export function coarseBucketOf(timeMs: number): number {
  return Math.floor(timeMs / COARSE_BUCKET_MS);
}
export function fineChunkOf(fineBucket: number): number {
  return Math.floor((fineBucket * FINE_BUCKET_MS) / FINE_CHUNK_MS);
}
export function nodeSecondsChunkOf(fineBucket: number): number {
  return Math.floor((fineBucket * FINE_BUCKET_MS) / NODE_SECONDS_CHUNK_MS);
}
const SECONDS_PER_NODE_CHUNK = NODE_SECONDS_CHUNK_MS / FINE_BUCKET_MS;
/** A node's 1-second bucket in its minute's hash: the second within the minute, then the name (names may hold ':'). */
export function nodeSecondField(fineBucket: number, node: string): string {
  return `${fineBucket % SECONDS_PER_NODE_CHUNK}:${node}`;
}
/** The node a field of a minute's node hash belongs to, or undefined (its expiry record). */
export function nodeOfSecondField(field: string): string | undefined {
  const colon = field.indexOf(':');
  return colon > 0 ? field.slice(colon + 1) : undefined;
}
export function coarseChunkOf(coarseBucket: number): number {
  return Math.floor((coarseBucket * COARSE_BUCKET_MS) / COARSE_CHUNK_MS);
}
/** Unix seconds at which a fine chunk's key may expire. */
export function fineChunkExpiry(chunk: number): number {
  return Math.ceil(((chunk + 1) * FINE_CHUNK_MS + FINE_RETENTION_MS) / 1000);
}
/**
 * A minute's node hash is unlinked by the maintenance job once its retention (FINE_RETENTION_MS)
 * is over: UNLINK frees a large hash off Redis's main thread, where an expiry (with Redis's
 * default lazyfree-lazy-expire no) would stall it. Its expiry, this much later, is the backstop.
 */
export const NODE_SECONDS_BACKSTOP_MS = 3600 * 1000;
export function nodeSecondsChunkExpiry(chunk: number): number {
  return Math.ceil(((chunk + 1) * NODE_SECONDS_CHUNK_MS + FINE_RETENTION_MS + NODE_SECONDS_BACKSTOP_MS) / 1000);
}
/** The minutes whose node hash is past its retention at `nowMs` but not yet past its backstop expiry. */
export function nodeSecondsChunksPastRetention(nowMs: number): number[] {
  const last = Math.floor((nowMs - FINE_RETENTION_MS) / NODE_SECONDS_CHUNK_MS) - 1;
  const first = Math.floor((nowMs - FINE_RETENTION_MS - NODE_SECONDS_BACKSTOP_MS) / NODE_SECONDS_CHUNK_MS);
  return Array.from({ length: Math.max(0, last - first + 1) }, (_, i) => first + i);
}
export function coarseChunkExpiry(chunk: number): number {
  return Math.ceil(((chunk + 1) * COARSE_CHUNK_MS + COARSE_RETENTION_MS) / 1000);
}

/** Non-partitioned keys (never touched by a partition's atomic update). */
export function globalKeys(prefix: string) {
  return {
    /** The pipeline figures the maintenance job last recorded (JSON). */
    pipelineFigures: `${prefix}:pipeline:figures`,
    /** The storage format's version, recorded at first start (schema-version.ts). */
    schemaVersion: `${prefix}:schema`,
    /** STREAM_PARTITIONS recorded at first start; services with another count refuse to start. */
    partitionCount: `${prefix}:partitions`,
    /** Present while `nodeagg partitions set` runs: ingest refuses writes meanwhile. */
    partitionChange: `${prefix}:partitions:change`,
    /** BullMQ's prefix: one hash tag keeps each queue in one cluster slot. */
    bullPrefix: `${prefix}:{bull}`,
  };
}

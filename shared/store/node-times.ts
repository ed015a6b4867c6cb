/**
 * A node's time in its partition's node set (keys.nodes: node -> latest sample time) is
 * what forgets it after the retention; the fleet's latest node sample time, where fleet
 * windows end, is kept apart (keys.fleetLatest, one member).
 *
 * Why apart: moving a node's score on every sample moved its entry in the sorted set's skip
 * list, a third of the Redis instructions of a node sample's apply (docs/BENCHMARKS.md,
 * "a node's time written once a minute"). An apply that has read the node's stored
 * summary (the transaction) writes the node's time only when its sample starts a new step;
 * the script writes it on every sample. Either way a node's score lies within one step
 * before its latest sample, so it is forgotten at most a step before the retention ends.
 */

/** How far a node's score may trail its latest sample. */
export const NODE_TIME_STEP_MS = 60_000;

/** The one member of keys.fleetLatest; its score is the fleet's latest node sample time (ms). */
export const FLEET_LATEST_MEMBER = 'latest';

/**
 * Whether a node's time must be written for a sample at `atMs`, given the latest sample of
 * its stored summary (undefined: none, a node new to the set).
 */
export function nodeTimeMoves(storedLastAtMs: number | undefined, atMs: number): boolean {
  return storedLastAtMs === undefined || Math.floor(atMs / NODE_TIME_STEP_MS) > Math.floor(storedLastAtMs / NODE_TIME_STEP_MS);
}

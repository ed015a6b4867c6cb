/**
 * Ids of append groups (stored in each entry to settle a lost reply): a random prefix drawn
 * once per process and a counter, so ids stay unique across replicas and restarts without
 * random bytes per request.
 */
import { randomBytes } from 'node:crypto';

/** 72 random bits: a collision between two processes is negligible. */
const PREFIX_BYTES = 9;

export function groupIdSource(): () => string {
  // base64url of 9 bytes is always 12 characters, so prefix + counter never collides with another prefix's ids.
  const prefix = randomBytes(PREFIX_BYTES).toString('base64url');
  let next = 0;
  return () => prefix + (next++).toString(36);
}

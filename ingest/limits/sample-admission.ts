/**
 * What a POST of samples must pass before anything is written: the token's samples/s, then the
 * cardinality guard (new node names per token per minute, and MAX_NODES in total).
 */
import type { Context } from 'koa';
import type { Sample } from '../../shared/samples';
import { AccessControl, OPEN_CLIENT } from '../auth/access-control';
import type { NodeCardinality } from './node-cardinality';

export interface Admission {
  /** Call after the samples were stored: their new names become known. */
  stored(): void;
}

/** Nothing new to remember: shared by every request whose names are all known. */
const NOTHING_NEW: Admission = { stored: () => undefined };

export async function admitSamples(
  ctx: Context,
  access: AccessControl | undefined,
  cardinality: NodeCardinality,
  samples: readonly Sample[],
): Promise<Admission> {
  const client = AccessControl.clientOf(ctx);
  const limited = access !== undefined && client !== OPEN_CLIENT;
  if (limited) await access.limits.takeSamples(client, samples.length);
  const uncached = cardinality.uncachedNames(samples);
  if (uncached.length === 0) return NOTHING_NEW; // the usual case: no Redis lookup, no await
  const fresh = await cardinality.newNames(uncached);
  if (fresh.length === 0) return NOTHING_NEW;
  cardinality.checkTotal(fresh.length, (retryAfter) => access?.limited(client, 'total_nodes', retryAfter));
  if (limited) await access.limits.takeNewNodes(client, fresh.length);
  return { stored: () => cardinality.remember(fresh) };
}

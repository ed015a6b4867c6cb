/**
 * How soon a single POST's sample can be read while the single-POST load runs: one POST at a
 * time to a node of its own, then a query with `?after=` its token, which answers once the
 * worker applied the sample. The time from the 202 to the query's answer is the sample's
 * visibility; the worker's linger (worker/read-linger.ts) trades it for Redis work per apply.
 */
import type { ApiClient } from '../cli/api-client';
import { distribution, type Distribution } from '../cli/load/percentile';

/** A pause between probes, so the probe itself adds little load. */
const PAUSE_MS = 40;
const TIMEOUT_MS = 10_000;
const BODY = '{"timeslice":10,"cpu":42.5,"mem":61}';

export type Visibility = Distribution & { errors: number };

export async function probeVisibility(client: ApiClient, durationMs: number): Promise<Visibility> {
  const times: number[] = [];
  let errors = 0;
  const end = performance.now() + durationMs;
  for (let i = 0; performance.now() < end; i++) {
    try {
      const posted = await client.send(`/v1/metrics/node/visibility-probe-${i % 50}`, {
        method: 'POST',
        body: BODY,
        contentType: 'application/json',
        timeoutMs: TIMEOUT_MS,
      });
      const token = (posted.body as { token?: string } | undefined)?.token;
      if (posted.status === 202 && token) {
        const acceptedAt = performance.now();
        const read = await client.send(`/v1/analytics/nodes/average?timeslice=1&after=${encodeURIComponent(token)}`, {
          timeoutMs: TIMEOUT_MS,
        });
        if (read.status === 200) times.push(performance.now() - acceptedAt);
        else errors += 1;
      } else errors += 1;
    } catch {
      errors += 1;
    }
    // Also after a failure: a refused probe must not turn into a busy loop.
    await new Promise((resolve) => setTimeout(resolve, PAUSE_MS));
  }
  return { ...distribution(times), errors };
}

/**
 * The open-loop generator: batches go out on a fixed timetable whatever the server does, so a
 * slow server shows up as latency and rejections, never as a quietly lower offered rate. A batch
 * due while `maxInFlight` requests are outstanding is counted "not-sent" rather than delayed.
 */
import { ApiClient } from '../api-client';
import { CliError } from '../cli-error';
import { distribution, type Distribution } from './percentile';
import { SyntheticFleet, type FleetOptions } from './synthetic-fleet';

export interface LoadOptions extends FleetOptions {
  /** Samples per second offered. */
  rate: number;
  durationMs: number;
  /** Samples per request at most. */
  batch: number;
  maxInFlight: number;
  /** A partial batch goes out once its oldest sample waited this long. */
  lingerMs: number;
  /** Probe read-after-write freshness about this often (0 = never). */
  freshnessEveryMs: number;
  requestTimeoutMs: number;
}

export interface LiveCounters {
  offered: number;
  sent: number;
  accepted: number;
  rejected: number;
  inFlight: number;
  elapsedMs: number;
}

export interface LoadReport {
  target: { nodes: number; processes: number; rate: number; duration_s: number; batch: number; max_in_flight: number };
  samples: {
    offered: number;
    sent: number;
    accepted: number;
    rejected: number;
    /** HTTP status, "not-sent" (over --max-in-flight) or "error" (no answer: refused, reset, timeout). */
    rejected_by_status: Record<string, number>;
    accepted_node_samples: number;
    accepted_process_samples: number;
  };
  requests: { sent: number; accepted: number; by_status: Record<string, number> };
  rate: { offered_per_s: number; achieved_per_s: number };
  latency_ms: Distribution;
  /**
   * How late each sent batch left against its timetable: the generator's own lateness (a busy
   * or paused client), which latency_ms includes, since latency counts from when a batch was due.
   */
  sent_late_ms: Distribution;
  freshness_ms: Distribution & { timeouts: number; errors: number };
  elapsed_s: number;
  first_error?: string;
}

const add = (map: Record<string, number>, key: string, n: number) => (map[key] = (map[key] ?? 0) + n);

/** `fleet`: built beforehand by a caller that must not count its building in the run (100,000 nodes take about a second). */
export async function runOpenLoop(
  client: ApiClient,
  options: LoadOptions,
  onTick?: (c: LiveCounters) => void,
  fleet: SyntheticFleet = new SyntheticFleet(options),
): Promise<LoadReport> {
  const total = Math.max(1, Math.round((options.rate * options.durationMs) / 1000));
  const msPerSample = 1000 / options.rate;
  const rejectedBy: Record<string, number> = {};
  const requestsBy: Record<string, number> = {};
  const latencies: number[] = [];
  const sentLate: number[] = [];
  const freshness: number[] = [];
  let freshnessTimeouts = 0;
  let freshnessErrors = 0;
  let scheduled = 0;
  let sent = 0;
  let accepted = 0;
  let acceptedNode = 0;
  let rejected = 0;
  let requestsSent = 0;
  let inFlight = 0;
  let firstError: string | undefined;
  let lastSendAt = 0;
  let nextProbeAt = 0;
  let probesInFlight = 0;
  const outstanding = new Set<Promise<void>>();
  const track = (p: Promise<void>) => {
    outstanding.add(p);
    void p.finally(() => outstanding.delete(p));
  };
  const start = performance.now();
  lastSendAt = start;

  const probe = (token: string) => {
    probesInFlight += 1;
    const t0 = performance.now();
    track(
      client
        .send(`/v1/analytics/nodes/average?timeslice=1&after=${encodeURIComponent(token)}`, { timeoutMs: options.requestTimeoutMs })
        .then((r) => {
          if (r.status === 200) freshness.push(performance.now() - t0);
          else if (r.status === 504) freshnessTimeouts += 1;
          else freshnessErrors += 1;
        })
        .catch(() => void (freshnessErrors += 1))
        .finally(() => void (probesInFlight -= 1)),
    );
  };

  const sendBatch = (n: number, now: number) => {
    const slice = fleet.next(n);
    scheduled += n;
    lastSendAt = now;
    if (inFlight >= options.maxInFlight) {
      rejected += n;
      add(rejectedBy, 'not-sent', n);
      return;
    }
    // Latency counts from when the batch was due, so a stalled generator cannot hide a slow server.
    const dueAt = Math.min(now, start + scheduled * msPerSample);
    sentLate.push(now - dueAt);
    inFlight += 1;
    sent += n;
    requestsSent += 1;
    track(
      client
        .send('/v1/samples', { method: 'POST', body: slice.body, contentType: 'application/json', timeoutMs: options.requestTimeoutMs })
        .then((r) => {
          latencies.push(performance.now() - dueAt);
          add(requestsBy, String(r.status), 1);
          if (r.status === 202) {
            accepted += n;
            acceptedNode += slice.nodeSamples;
            const token = (r.body as { token?: string } | undefined)?.token;
            if (token && options.freshnessEveryMs > 0 && performance.now() >= nextProbeAt && probesInFlight < 8) {
              nextProbeAt = performance.now() + options.freshnessEveryMs;
              probe(token);
            }
          } else {
            rejected += n;
            add(rejectedBy, String(r.status), n);
            firstError ??= `${r.status}: ${JSON.stringify(r.body).slice(0, 200)}`;
          }
        })
        .catch((caught: unknown) => {
          // No answer: the server may or may not have appended it, so it is not counted as accepted.
          rejected += n;
          add(rejectedBy, 'error', n);
          add(requestsBy, 'error', 1);
          firstError ??= caught instanceof CliError ? caught.message : String(caught);
        })
        .finally(() => void (inFlight -= 1)),
    );
  };

  const counters = (): LiveCounters => ({ offered: scheduled, sent, accepted, rejected, inFlight, elapsedMs: performance.now() - start });
  const ticker = onTick ? setInterval(() => onTick(counters()), 200) : undefined;

  while (scheduled < total) {
    const now = performance.now();
    const due = Math.min(total, Math.floor((now - start) / msPerSample));
    while (due - scheduled >= options.batch) sendBatch(options.batch, now);
    const waiting = due - scheduled;
    if (waiting > 0 && (due === total || now - lastSendAt >= options.lingerMs)) sendBatch(waiting, now);
    if (scheduled >= total) break;
    // Sleep until the next full batch is due or the linger runs out, whichever is first.
    const nextFull = start + (scheduled + options.batch) * msPerSample;
    const nextLinger = lastSendAt + options.lingerMs;
    const end = start + total * msPerSample;
    const wake = Math.min(nextFull, Math.max(nextLinger, now + 1), end);
    await new Promise((r) => setTimeout(r, Math.max(1, wake - now)));
  }
  while (outstanding.size > 0) await Promise.allSettled([...outstanding]);
  if (ticker) clearInterval(ticker);
  onTick?.(counters());
  const elapsedMs = performance.now() - start;

  return {
    target: {
      nodes: options.nodes,
      processes: options.processes,
      rate: options.rate,
      duration_s: options.durationMs / 1000,
      batch: options.batch,
      max_in_flight: options.maxInFlight,
    },
    samples: {
      offered: scheduled,
      sent,
      accepted,
      rejected,
      rejected_by_status: rejectedBy,
      accepted_node_samples: acceptedNode,
      accepted_process_samples: accepted - acceptedNode,
    },
    requests: { sent: requestsSent, accepted: requestsBy['202'] ?? 0, by_status: requestsBy },
    rate: { offered_per_s: options.rate, achieved_per_s: Math.round((accepted / elapsedMs) * 1000 * 10) / 10 },
    latency_ms: distribution(latencies),
    sent_late_ms: distribution(sentLate),
    freshness_ms: { ...distribution(freshness), timeouts: freshnessTimeouts, errors: freshnessErrors },
    elapsed_s: Math.round(elapsedMs) / 1000,
    ...(firstError ? { first_error: firstError } : {}),
  };
}

// Continuous batch POSTs to ingest: records every request's outcome and what the 202s accepted.
import type { Agent } from 'node:http';
import { describeOutcome, send, type Outcome } from './http-outcomes';

export interface LoadOptions {
  /** Base URL of the ingest service. */
  url: string;
  /** Requests in flight at once. */
  concurrency: number;
  samplesPerRequest: number;
  /** Node names to draw from; one request never repeats a node. */
  nodes: readonly string[];
  /** Pause of a poster after a request that was not accepted, to keep the rate sane during an outage. */
  paceMs: number;
  /** A request not answered within this is recorded as a timeout (a hang). */
  timeoutMs: number;
  agent?: Agent | false;
  /**
   * Each request carries an Idempotency-Key and, like a careful client, is retried with the
   * same key and body after anything but a 202, until a 202 (or 20 s after stop()).
   */
  idempotencyKeys?: boolean;
  /** Stem of the Idempotency-Keys (default "request"): two generators on one service need different stems. */
  keyStem?: string;
  /**
   * 'batch' (default): POST /v1/samples with `samplesPerRequest` items; 'single': one node
   * sample a request, POST /v1/metrics/node/<name> (samplesPerRequest must be 1).
   */
  route?: 'batch' | 'single';
  /** Per poster (by index) overrides: its own agent, or a slow upload. */
  poster?: (index: number) => { agent?: Agent | false; trickleMs?: number };
}

export interface NodeItem {
  node: string;
  at: number;
  timeslice: number;
  cpu: number;
  mem: number;
}

export interface RequestRecord {
  seq: number;
  /** 0 for the first try, then 1, 2, ... for retries with the same Idempotency-Key. */
  attempt: number;
  poster: number;
  startedAt: number;
  endedAt: number;
  items: NodeItem[];
  outcome: Outcome;
  /** Entry positions of a 202, from its token (`partition_id` pairs). */
  positions: { partition: number; id: string }[];
}

export interface AcceptedTotals {
  requests: number;
  samples: number;
  cpuSeconds: number;
  memSeconds: number;
  perNode: Map<string, number>;
  /** `partition/id` of every stream entry a 202 reported. */
  entries: Set<string>;
}

/** A whole second, a minute in the past: every `at` lies within the last 30 minutes. */
function baseSecond(): number {
  return Math.floor(Date.now() / 1000) * 1000 - 60_000;
}

export class LoadGenerator {
  readonly records: RequestRecord[] = [];
  inFlight = 0;
  /** Requests sent and not yet answered: seq, poster and start. */
  readonly unanswered = new Map<number, { poster: number; startedAt: number }>();
  private running = false;
  private stoppedAt = Infinity;
  private posters: Promise<void>[] = [];
  private seq = 0;
  private readonly base = baseSecond();
  private startWaiters: (() => void)[] = [];

  constructor(private readonly options: LoadOptions) {
    if (options.samplesPerRequest > options.nodes.length) throw new Error('a request must not repeat a node');
    if (options.route === 'single' && options.samplesPerRequest !== 1) throw new Error('a single-sample route posts 1 sample a request');
  }

  start(): void {
    this.running = true;
    this.posters = Array.from({ length: this.options.concurrency }, (_, index) => this.poster(index));
  }

  /** Stops issuing requests and waits for those in flight (and their retries, with keys) to end. */
  async stop(): Promise<void> {
    this.running = false;
    this.stoppedAt = Math.min(this.stoppedAt, Date.now());
    await Promise.all(this.posters);
  }

  /** Stops at once, retries included (teardown after a failure). */
  async abort(): Promise<void> {
    this.stoppedAt = -Infinity;
    await this.stop();
  }

  /** Requests answered with `status` (optionally only those started after `since`). */
  count(status: number, since = 0): number {
    return this.records.filter((r) => r.startedAt >= since && r.outcome.kind === 'response' && r.outcome.status === status).length;
  }

  /** Waits (checking every 20 ms) until `condition` holds; throws after `timeoutMs`. */
  async waitFor(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!condition()) {
      if (Date.now() > deadline) throw new Error(`load: ${what} did not happen within ${timeoutMs} ms (${this.summary()})`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Resolves when the next request has been handed to the network. */
  nextRequestSent(): Promise<void> {
    return new Promise((resolve) => this.startWaiters.push(resolve));
  }

  /** What the 202s accepted, plus the requests `alsoStored` names (stored with an unknown outcome). */
  accepted(alsoStored: ReadonlySet<number> = new Set()): AcceptedTotals {
    const totals: AcceptedTotals = { requests: 0, samples: 0, cpuSeconds: 0, memSeconds: 0, perNode: new Map(), entries: new Set() };
    const seen = new Set<number>();
    for (const record of this.records) {
      const is202 = record.outcome.kind === 'response' && record.outcome.status === 202;
      if (!is202 && !alsoStored.has(record.seq)) continue;
      // A replayed 202 reports the first one's entries; the samples count once per request.
      for (const p of record.positions) totals.entries.add(`${p.partition}/${p.id}`);
      if (seen.has(record.seq)) continue;
      seen.add(record.seq);
      totals.requests++;
      for (const item of record.items) {
        totals.samples++;
        totals.cpuSeconds += item.cpu * item.timeslice;
        totals.memSeconds += item.mem * item.timeslice;
        totals.perNode.set(item.node, (totals.perNode.get(item.node) ?? 0) + 1);
      }
    }
    return totals;
  }

  /** Sent, accepted (202), rejected (503) and other requests (attempts), and their samples. */
  figures(): {
    sentRequests: number;
    sentSamples: number;
    acceptedRequests: number;
    acceptedSamples: number;
    rejectedRequests: number;
    rejectedSamples: number;
    otherRequests: number;
  } {
    let acceptedRequests = 0;
    let acceptedSamples = 0;
    let rejectedRequests = 0;
    let rejectedSamples = 0;
    let sentSamples = 0;
    for (const r of this.records) {
      sentSamples += r.items.length;
      if (r.outcome.kind === 'response' && r.outcome.status === 202) {
        acceptedRequests++;
        acceptedSamples += r.items.length;
      } else if (r.outcome.kind === 'response' && r.outcome.status === 503) {
        rejectedRequests++;
        rejectedSamples += r.items.length;
      }
    }
    return {
      sentRequests: this.records.length,
      sentSamples,
      acceptedRequests,
      acceptedSamples,
      rejectedRequests,
      rejectedSamples,
      otherRequests: this.records.length - acceptedRequests - rejectedRequests,
    };
  }

  /** Counts of outcomes by kind/status, e.g. {"202": 310, "503": 41, "refused": 3}. */
  histogram(records: readonly RequestRecord[] = this.records): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const r of records) {
      const key = r.outcome.kind === 'response' ? String(r.outcome.status) : r.outcome.kind;
      counts[key] = (counts[key] ?? 0) + 1;
    }
    return counts;
  }

  /** The requests holding a sample encoded as `line` (a stream entry's `N` line). */
  requestsWithLine(line: string): RequestRecord[] {
    const [kind, node, at, timeslice, cpu, mem] = line.split('\t');
    if (kind !== 'N') return [];
    return this.records.filter((r) =>
      r.items.some(
        (i) =>
          i.node === node && String(i.at) === at && String(i.timeslice) === timeslice && String(i.cpu) === cpu && String(i.mem) === mem,
      ),
    );
  }

  summary(): string {
    return JSON.stringify(this.histogram());
  }

  /** A few examples of outcomes other than those `allowed`, for failure messages. */
  unexpected(allowed: (outcome: Outcome) => boolean): string[] {
    return this.records
      .filter((r) => !allowed(r.outcome))
      .slice(0, 5)
      .map((r) => `#${r.seq}: ${describeOutcome(r.outcome)}`);
  }

  /** Every request's samples differ from every other's (its `at` and cpu), so a stream entry names its request. */
  private buildItems(seq: number): NodeItem[] {
    const { nodes, samplesPerRequest } = this.options;
    const offset = (seq * 7) % nodes.length;
    return Array.from({ length: samplesPerRequest }, (_, i) => ({
      node: nodes[(offset + i) % nodes.length]!,
      at: this.base - (seq % 1500) * 1000,
      timeslice: 1 + ((seq + i) % 9),
      cpu: Math.floor(seq / 1500) % 100,
      mem: (seq * 17 + i * 3) % 100,
    }));
  }

  private requestUrl(items: readonly NodeItem[]): string {
    if (this.options.route === 'single') return `${this.options.url}/v1/metrics/node/${encodeURIComponent(items[0]!.node)}`;
    return `${this.options.url}/v1/samples`;
  }

  private async poster(index: number): Promise<void> {
    const own = this.options.poster?.(index) ?? {};
    const agent = 'agent' in own ? own.agent : this.options.agent;
    while (this.running) {
      const seq = this.seq++;
      const items = this.buildItems(seq);
      const headers: Record<string, string> = this.options.idempotencyKeys
        ? { 'Idempotency-Key': `${this.options.keyStem ?? 'request'}-${seq}` }
        : {};
      for (let attempt = 0; ; attempt++) {
        const startedAt = Date.now();
        this.inFlight++;
        this.unanswered.set(seq, { poster: index, startedAt });
        const answered = send(this.requestUrl(items), {
          body: this.options.route === 'single' ? singleBody(items[0]!) : items,
          timeoutMs: this.options.timeoutMs,
          agent,
          trickleMs: own.trickleMs,
          headers,
        });
        for (const wake of this.startWaiters.splice(0)) wake();
        const outcome = await answered;
        this.inFlight--;
        this.unanswered.delete(seq);
        this.records.push({ seq, attempt, poster: index, startedAt, endedAt: Date.now(), items, outcome, positions: positionsOf(outcome) });
        if (outcome.kind === 'response' && outcome.status === 202) break;
        // Like a client: pause briefly after anything but a 202.
        if (this.options.paceMs > 0) await new Promise((r) => setTimeout(r, this.options.paceMs));
        // Without a key a retry could store the samples twice; with one it is safe.
        if (!this.options.idempotencyKeys || Date.now() - this.stoppedAt > 20_000) break;
      }
    }
  }
}

/** The single-sample route's body: the item without its node (the node is in the path). */
function singleBody(item: NodeItem): Omit<NodeItem, 'node'> {
  return { at: item.at, timeslice: item.timeslice, cpu: item.cpu, mem: item.mem };
}

function positionsOf(outcome: Outcome): { partition: number; id: string }[] {
  if (outcome.kind !== 'response' || outcome.status !== 202) return [];
  const token = (outcome.body as { token?: unknown } | undefined)?.token;
  if (typeof token !== 'string') return [];
  return token.split('.').map((pair) => {
    const [partition, id] = pair.split('_');
    return { partition: Number(partition), id: id ?? '' };
  });
}

/** Node names for a load: `count` distinct names with a test-specific stem. */
export function nodeNames(stem: string, count: number): string[] {
  return Array.from({ length: count }, (_, i) => `${stem}-${i}`);
}

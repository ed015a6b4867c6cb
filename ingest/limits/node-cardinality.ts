/**
 * The cardinality guard's memory of node names: an in-process bounded cache of names known to
 * exist, so a sample of a known node costs no Redis work; only names missing from it are looked up
 * (one ZMSCORE per partition). Also bounds the total: a new name past MAX_NODES is refused.
 */
import { LRUCache } from 'lru-cache';
import { Gauge, type Registry } from 'prom-client';
import { RateLimitedError } from '../../shared/errors';
import type { Logger } from '../../shared/logger';
import type { NodeReader } from '../node-reader';

/** Refreshing the retained count once a second costs one ZCARD per partition. */
const COUNT_REFRESH_MS = 1000;
/** A client refused for the total bound is told to come back in a minute (nodes expire after 25 h without samples). */
const TOTAL_RETRY_AFTER_SECONDS = 60;
const MAX_CACHED_NAMES = 1_000_000;

export class NodeCardinality {
  private readonly known: LRUCache<string, true>;
  /** Nodes retained at the last refresh, and new names this replica admitted since. */
  private retained = 0;
  private admittedSinceRefresh = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly nodes: Pick<NodeReader, 'retainedCount' | 'existing'>,
    readonly maxNodes: number,
    private readonly logger: Logger,
    registry: Registry,
  ) {
    this.known = new LRUCache({ max: Math.min(maxNodes, MAX_CACHED_NAMES) });
    const estimate = () => this.retained + this.admittedSinceRefresh;
    new Gauge({
      name: 'nodeagg_nodes_retained',
      help: 'Distinct nodes retained (as last counted, plus new ones this replica admitted since); new names are refused at MAX_NODES.',
      registers: [registry],
      collect() {
        this.set(estimate());
      },
    });
  }

  async start(): Promise<void> {
    await this.refresh();
    this.timer = setInterval(() => void this.refresh(), COUNT_REFRESH_MS);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private async refresh(): Promise<void> {
    try {
      this.retained = await this.nodes.retainedCount();
      this.admittedSinceRefresh = 0;
    } catch (error) {
      // Keep the last figure; Redis trouble shows on the request path and in /readyz.
      this.logger.debug({ err: error }, 'node count refresh failed');
    }
  }

  /** The distinct names of `samples` not cached as known; no Redis work (every name of a busy fleet is cached). */
  uncachedNames(samples: readonly { node: string }[]): string[] {
    if (samples.length === 1) return this.known.has(samples[0]!.node) ? [] : [samples[0]!.node];
    const uncached = new Set<string>();
    for (const { node } of samples) if (!this.known.has(node)) uncached.add(node);
    return [...uncached];
  }

  /** The names among `uncached` (distinct, from uncachedNames) that no retained node has: one lookup in Redis. */
  async newNames(uncached: readonly string[]): Promise<string[]> {
    if (uncached.length === 0) return [];
    const existing = await this.nodes.existing(uncached);
    for (const name of existing) this.known.set(name, true);
    return uncached.filter((name) => !existing.has(name));
  }

  /** Throws 429 when admitting `count` new names would pass MAX_NODES. */
  checkTotal(count: number, onRefused: (retryAfterSeconds: number) => void): void {
    if (this.retained + this.admittedSinceRefresh + count <= this.maxNodes) return;
    onRefused(TOTAL_RETRY_AFTER_SECONDS);
    throw new RateLimitedError(
      `The service holds its maximum of ${this.maxNodes} nodes (MAX_NODES); samples of new node names are refused until old nodes expire. Known nodes keep posting.`,
      TOTAL_RETRY_AFTER_SECONDS,
    );
  }

  /** Records names that were just stored. */
  remember(names: readonly string[]): void {
    for (const name of names) this.known.set(name, true);
    this.admittedSinceRefresh += names.length;
  }
}

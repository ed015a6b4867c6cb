/** What the ingest routes need, passed explicitly (no globals). */
import type { Config } from '../shared/config';
import type { PartitionKeys } from '../shared/store/keys';
import type { Logger } from '../shared/logger';
import type { RedisClient } from '../shared/redis';
import type { DeadLetterQueue } from '../shared/dead-letter-queue';
import type { AggregateReader } from '../shared/store/window-reads';
import type { ConsistencyWaiter } from './consistency-waiter';
import type { IngestMetrics } from './metrics';
import type { NodeReader } from './node-reader';
import type { SampleWriter } from './sample-writer';
import type { TokenStore } from '../shared/auth/token-store';
import type { NodeCardinality } from './limits/node-cardinality';

export interface IngestDeps {
  config: Config;
  redis: RedisClient;
  /** The connection appends go on (server.ts, appendConnection): the timeout watchdog heals it too. */
  appendRedis: RedisClient;
  logger: Logger;
  partitions: readonly PartitionKeys[];
  writer: SampleWriter;
  deadLetters: DeadLetterQueue;
  reader: AggregateReader;
  nodes: NodeReader;
  waiter: ConsistencyWaiter;
  metrics: IngestMetrics;
  /** The configured tokens (none: the service runs open). */
  tokens: TokenStore;
  /** Known node names and the MAX_NODES bound. */
  cardinality: NodeCardinality;
  /** True once SIGTERM arrived: readiness fails and new writes are refused. */
  isDraining(): boolean;
}

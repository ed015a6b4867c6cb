/** Configuration: documented defaults, read once from the environment, validated, frozen. */
import { hostname } from 'node:os';

export interface Config {
  readonly redisUrl: string;
  /** Seed nodes of a Redis Cluster (`host:port,...`); '' = one Redis at REDIS_URL. */
  readonly redisClusterNodes: string;
  readonly keyPrefix: string;
  readonly streamPartitions: number;
  readonly consumerGroup: string;
  readonly ingestHost: string;
  readonly ingestPort: number;
  readonly workerHealthPort: number;
  readonly workerConsumerName: string;
  readonly workerBatchSize: number;
  readonly workerBlockMs: number;
  readonly workerBatchLingerMs: number;
  readonly workerClaimIdleMs: number;
  readonly workerClaimIntervalMs: number;
  readonly maxBodyBytes: number;
  readonly bodyTimeoutMs: number;
  readonly maxBatchItems: number;
  readonly maxAgentPoints: number;
  readonly otlpGaugeIntervalSeconds: number;
  readonly agentIdempotencyTtlSeconds: number;
  readonly maxFutureSkewMs: number;
  readonly consistencyWaitMs: number;
  readonly maxConsistencyWaiters: number;
  readonly redisCommandTimeoutMs: number;
  readonly redisWaitReplicas: number;
  readonly redisWaitTimeoutMs: number;
  readonly ingestCommitLingerMs: number;
  readonly shutdownTimeoutMs: number;
  readonly logLevel: string;
  readonly logFormat: string;
  readonly idempotencyTtlSeconds: number;
  readonly maxPartitionLag: number;
  readonly backpressureRefreshMs: number;
  readonly deadLetterAfterDeliveries: number;
  readonly maintenanceIntervalMs: number;
  readonly consumerExpiryMs: number;
  readonly partitionStallAfterMs: number;
  readonly apiTokensFile: string;
  readonly apiTokens: string;
  readonly apiTokensReloadMs: number;
  readonly authRequired: boolean;
  readonly rateLimitRequestsPerSecond: number;
  readonly rateLimitSamplesPerSecond: number;
  readonly newNodesPerMinute: number;
  readonly maxNodes: number;
}

type Parser = (raw: string) => unknown;

interface Setting {
  key: keyof Config;
  defaultValue: string | (() => string);
  parse: Parser;
  accepts: string;
  doc: string;
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

function integer(min: number, max: number): Parser {
  return (raw) => {
    if (!/^\d+$/.test(raw)) return undefined;
    const value = Number(raw);
    return value >= min && value <= max ? value : undefined;
  };
}

function text(pattern: RegExp): Parser {
  return (raw) => (pattern.test(raw) ? raw : undefined);
}

function boolean(raw: string): unknown {
  return raw === 'true' ? true : raw === 'false' ? false : undefined;
}

/** Any text, the empty string included (its meaning is checked where it is used). */
function anyText(raw: string): unknown {
  return raw;
}

function redisUrl(raw: string): unknown {
  try {
    const url = new URL(raw);
    return url.protocol === 'redis:' || url.protocol === 'rediss:' ? raw : undefined;
  } catch {
    return undefined;
  }
}

export interface ClusterSeed {
  host: string;
  port: number;
}

/**
 * REDIS_CLUSTER_NODES: `host:port` seeds separated by commas (an IPv6 address in brackets,
 * `[::1]:7000`). Undefined when any seed is malformed.
 */
export function parseClusterSeeds(raw: string): ClusterSeed[] | undefined {
  const seeds: ClusterSeed[] = [];
  for (const part of raw.split(',')) {
    const match = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+):(\d{1,5})$/.exec(part.trim());
    const port = Number(match?.[2]);
    if (!match || port < 1 || port > 65535) return undefined;
    seeds.push({ host: match[1]!.replace(/^\[(.*)\]$/, '$1'), port });
  }
  return seeds;
}

function clusterNodes(raw: string): unknown {
  return raw === '' || parseClusterSeeds(raw) !== undefined ? raw : undefined;
}

/** Every variable the services read, with its default. The README's table mirrors this. */
export const SETTINGS: Readonly<Record<string, Setting>> = Object.freeze({
  REDIS_URL: {
    key: 'redisUrl',
    defaultValue: 'redis://127.0.0.1:6379',
    parse: redisUrl,
    accepts: 'a redis:// or rediss:// URL',
    doc: 'Redis to use; a password goes in the URL (redis://:secret@host:6379).',
  },
  REDIS_CLUSTER_NODES: {
    key: 'redisClusterNodes',
    defaultValue: '',
    parse: clusterNodes,
    accepts: 'host:port seeds separated by commas, or nothing',
    doc: "Seed nodes of a Redis Cluster (host:port,host:port,...); set, it replaces REDIS_URL's host and port, while user name, password and TLS (rediss://) still come from REDIS_URL, whose database must then be 0. Empty: one Redis at REDIS_URL.",
  },
  KEY_PREFIX: {
    key: 'keyPrefix',
    defaultValue: 'na',
    parse: text(/^[A-Za-z0-9_.-]{1,64}$/),
    accepts: '1-64 characters of A-Z a-z 0-9 _ . -',
    doc: 'Prefix of every Redis key, so several pipelines can share one Redis.',
  },
  STREAM_PARTITIONS: {
    key: 'streamPartitions',
    defaultValue: '4',
    parse: integer(1, 1024),
    accepts: 'an integer from 1 to 1024',
    doc: 'Number of partition streams; samples are routed by a hash of the node name. Recorded in Redis at first start: a service with another count refuses to start; change it with `nodeagg partitions set` (docs/RUNBOOK.md).',
  },
  CONSUMER_GROUP: {
    key: 'consumerGroup',
    defaultValue: 'aggregators',
    parse: text(/^[A-Za-z0-9_.-]{1,64}$/),
    accepts: '1-64 characters of A-Z a-z 0-9 _ . -',
    doc: 'Consumer group the workers share.',
  },
  INGEST_HOST: {
    key: 'ingestHost',
    defaultValue: '0.0.0.0',
    parse: text(/^\S+$/),
    accepts: 'a host name or address',
    doc: 'Address the ingest service listens on.',
  },
  INGEST_PORT: {
    key: 'ingestPort',
    defaultValue: '8080',
    parse: integer(0, 65535),
    accepts: 'a port from 0 to 65535',
    doc: 'Port of the ingest HTTP API.',
  },
  WORKER_HEALTH_PORT: {
    key: 'workerHealthPort',
    defaultValue: '8081',
    parse: integer(0, 65535),
    accepts: 'a port from 0 to 65535',
    doc: "Port of the worker's /livez, /readyz, /health and /metrics.",
  },
  WORKER_CONSUMER_NAME: {
    key: 'workerConsumerName',
    defaultValue: () => `${hostname()}-${process.pid}`,
    parse: text(/^[A-Za-z0-9_.:-]{1,128}$/),
    accepts: '1-128 characters of A-Z a-z 0-9 _ . : -',
    doc: 'Consumer name in the group; defaults to host name and pid, unique per pod.',
  },
  WORKER_BATCH_SIZE: {
    key: 'workerBatchSize',
    defaultValue: '200',
    parse: integer(1, 1000),
    accepts: 'an integer from 1 to 1000',
    doc: 'Stream entries read and applied per batch.',
  },
  WORKER_BLOCK_MS: {
    key: 'workerBlockMs',
    defaultValue: '1000',
    parse: integer(10, 60000),
    accepts: 'an integer from 10 to 60000',
    doc: 'Longest blocking read; also bounds how long shutdown waits for a read.',
  },
  WORKER_BATCH_LINGER_MS: {
    key: 'workerBatchLingerMs',
    defaultValue: '10',
    parse: integer(0, 1000),
    accepts: 'an integer from 0 to 1000',
    doc: 'While the stream trickles (the last read found fewer than WORKER_BATCH_SIZE entries), the next read waits this long first, or as long as the last batch took to process, or, while single samples stream in (above 200 a second on a partition), until about 64 have come, longer the busier the stream (at most 4 times this), so each apply carries more entries for one read: longer means less Redis and worker work per sample and later visibility (freshness); 0 = off.',
  },
  WORKER_CLAIM_IDLE_MS: {
    key: 'workerClaimIdleMs',
    defaultValue: '30000',
    parse: integer(100, 86400000),
    accepts: 'an integer from 100 to 86400000',
    doc: 'An entry pending this long on another consumer is taken over.',
  },
  WORKER_CLAIM_INTERVAL_MS: {
    key: 'workerClaimIntervalMs',
    defaultValue: '5000',
    parse: integer(50, 3600000),
    accepts: 'an integer from 50 to 3600000',
    doc: 'How often each worker looks for entries to take over.',
  },
  MAX_BODY_BYTES: {
    key: 'maxBodyBytes',
    defaultValue: '5242880',
    parse: integer(1024, 1073741824),
    accepts: 'an integer from 1024 to 1073741824',
    doc: 'Largest request body, after decompression; larger answers 413.',
  },
  BODY_TIMEOUT_MS: {
    key: 'bodyTimeoutMs',
    defaultValue: '30000',
    parse: integer(100, 600000),
    accepts: 'an integer from 100 to 600000',
    doc: 'A request body must arrive within this time; a slower one answers 408 and the connection is closed.',
  },
  MAX_BATCH_ITEMS: {
    key: 'maxBatchItems',
    defaultValue: '10000',
    parse: integer(1, 1000000),
    accepts: 'an integer from 1 to 1000000',
    doc: 'Most samples in one POST /v1/samples; more answers 413.',
  },
  MAX_AGENT_POINTS: {
    key: 'maxAgentPoints',
    defaultValue: '100000',
    parse: integer(1, 1000000),
    accepts: 'an integer from 1 to 1000000',
    doc: 'Most data points (OTLP) or value lists (collectd) in one POST /otlp/v1/metrics or /collectd; more answers 413.',
  },
  OTLP_GAUGE_INTERVAL_SECONDS: {
    key: 'otlpGaugeIntervalSeconds',
    defaultValue: '60',
    parse: integer(1, 86400),
    accepts: 'an integer from 1 to 86400',
    doc: 'Timeslice of an OTLP gauge point (utilization, usage) unless the request says otherwise (docs/AGENTS.md).',
  },
  AGENT_IDEMPOTENCY_TTL_SECONDS: {
    key: 'agentIdempotencyTtlSeconds',
    defaultValue: '600',
    parse: integer(0, 86400),
    accepts: 'an integer from 0 to 86400',
    doc: 'How long the digest of an OTLP or collectd POST is remembered, so a re-sent POST counts once; 0 = not at all.',
  },
  MAX_FUTURE_SKEW_MS: {
    key: 'maxFutureSkewMs',
    defaultValue: '300000',
    parse: integer(0, 86400000),
    accepts: 'an integer from 0 to 86400000',
    doc: 'How far in the future a sample\'s "at" may be (clock skew allowance).',
  },
  CONSISTENCY_WAIT_MS: {
    key: 'consistencyWaitMs',
    defaultValue: '5000',
    parse: integer(0, 120000),
    accepts: 'an integer from 0 to 120000',
    doc: 'Longest wait of a query with ?after= before it answers 504.',
  },
  MAX_CONSISTENCY_WAITERS: {
    key: 'maxConsistencyWaiters',
    defaultValue: '10000',
    parse: integer(1, 1000000),
    accepts: 'an integer from 1 to 1000000',
    doc: 'Most queries with ?after= waiting at once per ingest process; more answer 503 with Retry-After.',
  },
  REDIS_COMMAND_TIMEOUT_MS: {
    key: 'redisCommandTimeoutMs',
    defaultValue: '2000',
    parse: integer(50, 120000),
    accepts: 'an integer from 50 to 120000',
    doc: 'A Redis command not answered in this time fails (ingest answers 503).',
  },
  REDIS_WAIT_REPLICAS: {
    key: 'redisWaitReplicas',
    defaultValue: '0',
    parse: integer(0, 16),
    accepts: 'an integer from 0 to 16',
    doc: 'Replicas that must confirm a write (Redis WAIT) before ingest answers 202, so an accepted sample survives the failover of its master; fewer within REDIS_WAIT_TIMEOUT_MS answer 503 REPLICATION_TIMEOUT. 0 = answer once the master has it.',
  },
  REDIS_WAIT_TIMEOUT_MS: {
    key: 'redisWaitTimeoutMs',
    defaultValue: '1000',
    parse: integer(10, 60000),
    accepts: 'an integer from 10 to 60000',
    doc: 'Longest wait for the REDIS_WAIT_REPLICAS confirmations of one write.',
  },
  INGEST_COMMIT_LINGER_MS: {
    key: 'ingestCommitLingerMs',
    defaultValue: '0',
    parse: integer(0, 10),
    accepts: 'an integer from 0 to 10',
    doc: 'How long an idle ingest waits for more requests to append with the first in one write (group commit); 0 = none: requests that arrive while a write is in flight still go together in the next.',
  },
  SHUTDOWN_TIMEOUT_MS: {
    key: 'shutdownTimeoutMs',
    defaultValue: '20000',
    parse: integer(100, 600000),
    accepts: 'an integer from 100 to 600000',
    doc: 'Longest drain on SIGTERM before the process exits anyway.',
  },
  IDEMPOTENCY_TTL_SECONDS: {
    key: 'idempotencyTtlSeconds',
    defaultValue: '86400',
    parse: integer(1, 604800),
    accepts: 'an integer from 1 to 604800',
    doc: 'How long an Idempotency-Key is remembered; a retry within it appends nothing.',
  },
  MAX_PARTITION_LAG: {
    key: 'maxPartitionLag',
    defaultValue: '100000',
    parse: integer(1, 100000000),
    accepts: 'an integer from 1 to 100000000',
    doc: 'Unacknowledged entries a partition may hold before ingest answers 503 with Retry-After.',
  },
  BACKPRESSURE_REFRESH_MS: {
    key: 'backpressureRefreshMs',
    defaultValue: '500',
    parse: integer(10, 60000),
    accepts: 'an integer from 10 to 60000',
    doc: 'How often ingest re-reads partition lag for backpressure (never per request).',
  },
  DEAD_LETTER_AFTER_DELIVERIES: {
    key: 'deadLetterAfterDeliveries',
    defaultValue: '5',
    parse: integer(1, 1000),
    accepts: 'an integer from 1 to 1000',
    doc: 'Attempts at an entry whose apply fails with an unexpected error before it moves to the dead-letter queue (undecodable entries and wrong key types go at once; Redis being unavailable never dead-letters).',
  },
  MAINTENANCE_INTERVAL_MS: {
    key: 'maintenanceIntervalMs',
    defaultValue: '5000',
    parse: integer(100, 3600000),
    accepts: 'an integer from 100 to 3600000',
    doc: "Period of the maintenance job (safe trimming, consumer cleanup, unlinking the nodes' seconds past their retention); one replica runs each tick.",
  },
  CONSUMER_EXPIRY_MS: {
    key: 'consumerExpiryMs',
    defaultValue: '300000',
    parse: integer(1000, 604800000),
    accepts: 'an integer from 1000 to 604800000',
    doc: 'A consumer whose heartbeat (refreshed every quarter of this, at most every 10 s) has expired and that holds nothing pending (a removed pod) is deleted from the group.',
  },
  PARTITION_STALL_AFTER_MS: {
    key: 'partitionStallAfterMs',
    defaultValue: '120000',
    parse: integer(1000, 86400000),
    accepts: 'an integer from 1000 to 86400000',
    doc: 'A partition whose oldest pending entry has not moved for this long is stalled (gauge nodeagg_partition_stalled); a worker holding such entries fails /livez.',
  },
  API_TOKENS_FILE: {
    key: 'apiTokensFile',
    defaultValue: '',
    parse: anyText,
    accepts: 'a file path',
    doc: 'File of API tokens, one `<name> <scopes> <sha256 hex>` per line (e.g. a mounted Secret); re-read when it changes. See docs/SECURITY.md.',
  },
  API_TOKENS: {
    key: 'apiTokens',
    defaultValue: '',
    parse: anyText,
    accepts: 'token lines',
    doc: 'The same lines inline (newline-separated), when there is no API_TOKENS_FILE. No tokens at all: the API is open (a warning at start).',
  },
  API_TOKENS_RELOAD_MS: {
    key: 'apiTokensReloadMs',
    defaultValue: '5000',
    parse: integer(100, 3600000),
    accepts: 'an integer from 100 to 3600000',
    doc: 'How often API_TOKENS_FILE is checked for changes; a changed, valid file replaces the tokens without a restart.',
  },
  AUTH_REQUIRED: {
    key: 'authRequired',
    defaultValue: 'false',
    parse: boolean,
    accepts: 'true or false',
    doc: 'true: a service without tokens refuses to start instead of running open.',
  },
  RATE_LIMIT_REQUESTS_PER_SECOND: {
    key: 'rateLimitRequestsPerSecond',
    defaultValue: '2000',
    parse: integer(1, 10000000),
    accepts: 'an integer from 1 to 10000000',
    doc: 'Requests per second one token may make, per ingest replica; more answer 429 with Retry-After.',
  },
  RATE_LIMIT_SAMPLES_PER_SECOND: {
    key: 'rateLimitSamplesPerSecond',
    defaultValue: '50000',
    parse: integer(1, 100000000),
    accepts: 'an integer from 1 to 100000000',
    doc: 'Samples per second one token may post, per ingest replica; more answer 429 with Retry-After.',
  },
  NEW_NODES_PER_MINUTE: {
    key: 'newNodesPerMinute',
    defaultValue: '5000',
    parse: integer(1, 100000000),
    accepts: 'an integer from 1 to 100000000',
    doc: 'Node names not yet known that one token may introduce per minute, per ingest replica; more answer 429.',
  },
  MAX_NODES: {
    key: 'maxNodes',
    defaultValue: '250000',
    parse: integer(1, 100000000),
    accepts: 'an integer from 1 to 100000000',
    doc: 'Most distinct nodes retained; a sample of a new node beyond it answers 429 (known nodes keep posting).',
  },
  LOG_LEVEL: {
    key: 'logLevel',
    defaultValue: 'info',
    parse: text(new RegExp(`^(${LOG_LEVELS.join('|')})$`)),
    accepts: LOG_LEVELS.join(', '),
    doc: 'Log level of the logs on stdout.',
  },
  LOG_FORMAT: {
    key: 'logFormat',
    defaultValue: 'auto',
    parse: text(/^(auto|json|pretty)$/),
    accepts: 'auto, json, pretty',
    doc: 'json: one JSON object a line (for log collectors); pretty: readable lines; auto: pretty when stdout is a terminal, else json.',
  },
});

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n  ${problems.join('\n  ')}`);
    this.name = 'ConfigError';
  }
}

/** Reads every setting from `env`; reports every bad variable at once. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const problems: string[] = [];
  const values: Record<string, unknown> = {};
  for (const [name, setting] of Object.entries(SETTINGS)) {
    const given = env[name];
    const raw = given === undefined || given === '' ? resolveDefault(setting) : given.trim();
    const value = setting.parse(raw);
    if (value === undefined) {
      problems.push(`${name}=${JSON.stringify(given)} is not valid: expected ${setting.accepts}.`);
    }
    values[setting.key] = value;
  }
  if (values.redisClusterNodes && typeof values.redisUrl === 'string' && databaseOf(values.redisUrl) !== 0) {
    problems.push(
      `REDIS_URL=${JSON.stringify(values.redisUrl)} names database ${databaseOf(values.redisUrl)}: a Redis Cluster (REDIS_CLUSTER_NODES) has only database 0.`,
    );
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze(values) as unknown as Config;
}

/** The database a redis:// URL selects (its path, /0 when absent). */
export function databaseOf(redisUrl: string): number {
  const path = new URL(redisUrl).pathname;
  return path.length > 1 ? Number(path.slice(1)) : 0;
}

function resolveDefault(setting: Setting): string {
  return typeof setting.defaultValue === 'function' ? setting.defaultValue() : setting.defaultValue;
}

/**
 * Group commit (docs/ARCHITECTURE.md, "Group commit"): concurrent POSTs are appended together
 * in few, fat entries, yet each keeps its own answer, token, Idempotency-Key record and
 * outcome when the shared write fails. Runs on a private Redis (it pauses Redis); the worker
 * starts only to count, so every appended entry is still in the streams to be read.
 */
import { startPrivateRedis, type PrivateRedis } from '../../launcher/private-redis';
import type { Config } from '../../shared/config';
import { allPartitionKeys, globalKeys } from '../../shared/store/keys';
import { ENTRY_FIELD, GROUP_FIELD } from '../../shared/store/entry-codec';
import type { RedisClient } from '../../shared/redis';
import { fleetTotals, perNodeCounts } from '../support/aggregate-totals';
import { waitForDrained } from '../support/stream-drain';
import { baseTime } from '../support/build-sample';
import { postJson, request, type JsonResponse } from '../support/fetch-json';
import { startPipeline, type TestPipeline } from '../support/pipeline';
import { expectedFleetAverage, type RawNodeSample } from '../support/reference-model';
import { quietLogger, testConfig, testRedis } from '../support/test-config';
import { startWorker, type RunningWorker } from '../../worker/server';

/** Long enough for every request sent meanwhile to reach ingest and queue behind the blocked write. */
const QUEUE_UP_MS = 1500;
/** Longer than any pause here, so a paused write waits instead of timing out. */
const PATIENT = { REDIS_COMMAND_TIMEOUT_MS: '10000' };
/** Long enough for the first request to be in flight. */
const FIRST_WRITE_MS = 400;

describe('group commit', () => {
  let redisServer: PrivateRedis;
  let admin: RedisClient;
  let pipeline: TestPipeline | undefined;
  let worker: RunningWorker | undefined;
  let config: Config;

  beforeAll(async () => {
    redisServer = await startPrivateRedis();
    admin = testRedis(testConfig({ REDIS_URL: redisServer.url }));
    await admin.connect();
  });
  afterEach(async () => {
    await admin.client('UNPAUSE');
    await worker?.close();
    worker = undefined;
    await pipeline?.stop();
    pipeline = undefined;
  });
  afterAll(async () => {
    await admin.quit();
    await redisServer.destroy();
  });

  async function start(overrides: Record<string, string> = {}): Promise<TestPipeline> {
    config = testConfig({ REDIS_URL: redisServer.url, ...overrides });
    pipeline = await startPipeline(config, { worker: false });
    return pipeline;
  }

  const partitions = () => allPartitionKeys(config.keyPrefix, config.streamPartitions);

  async function entriesAdded(): Promise<number> {
    let added = 0;
    for (const p of partitions()) {
      const info = (await admin.xinfo('STREAM', p.stream)) as unknown[];
      added += Number(info[info.indexOf('entries-added') + 1]);
    }
    return added;
  }

  /** Sample lines in the streams by node: what was appended, whatever the worker did. */
  async function appendedLines(): Promise<Map<string, number>> {
    const lines = new Map<string, number>();
    for (const p of partitions()) {
      for (const [, fields] of (await admin.xrange(p.stream, '-', '+')) as [string, string[]][]) {
        const payload = fields[fields.indexOf(ENTRY_FIELD) + 1]!;
        for (const line of payload.split('\n')) {
          const node = line.split('\t')[1]!;
          lines.set(node, (lines.get(node) ?? 0) + 1);
        }
      }
    }
    return lines;
  }

  /** Blocks every write (the append script included) until `ms` passed or UNPAUSE. */
  const pauseWrites = (ms: number) => admin.client('PAUSE', ms, 'WRITE');
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

  function postNode(sample: RawNodeSample, key?: string): Promise<JsonResponse> {
    return postJson(
      `${pipeline!.url}/v1/metrics/node/${sample.node}`,
      { timeslice: sample.timeslice, cpu: sample.cpu, mem: sample.mem, at: sample.at },
      key === undefined ? {} : { 'Idempotency-Key': key },
    );
  }

  /** Retries while ingest answers 503 (it reconnects to Redis), as a client would. */
  async function postUntilAnswered(sample: RawNodeSample, key?: string): Promise<JsonResponse> {
    for (let attempt = 1; ; attempt++) {
      const answer = await postNode(sample, key);
      if (answer.status !== 503 || attempt === 50) return answer;
      await sleep(100);
    }
  }

  function nodeSamples(name: string, count: number): RawNodeSample[] {
    const t = baseTime();
    return Array.from({ length: count }, (_, i) => ({
      node: `${name}-${i}`,
      at: t,
      timeslice: 1 + (i % 7),
      cpu: i % 101,
      mem: (i * 7) % 101,
    }));
  }

  /**
   * Posts the nodes once (30 min earlier, outside the checked window), so ingest knows their
   * names and asks Redis nothing about them while Redis is paused.
   */
  async function introduce(samples: readonly RawNodeSample[]): Promise<RawNodeSample[]> {
    const earlier = samples.map((s) => ({ ...s, at: s.at - 30 * 60 * 1000 }));
    expect((await postJson(`${pipeline!.url}/v1/samples`, earlier)).status).toBe(202);
    return earlier;
  }

  /**
   * Each answer says what happened to its request (README, API): 202 = stored once, 503 (not
   * OUTCOME_UNKNOWN) = not stored, OUTCOME_UNKNOWN = at most once. `lines` holds each node's
   * lines in the streams, one from `introduce`. Returns the nodes whose sample was stored.
   */
  function expectTruthfulAnswers(
    samples: readonly RawNodeSample[],
    answers: readonly JsonResponse[],
    lines: Map<string, number>,
  ): Set<string> {
    const stored = new Set<string>();
    samples.forEach((s, i) => {
      const answer = answers[i]!;
      const appended = (lines.get(s.node) ?? 0) - 1;
      if (answer.status === 202) expect(appended).toBe(1);
      else if (answer.body.error.code === 'OUTCOME_UNKNOWN') expect([0, 1]).toContain(appended);
      else expect([answer.status, answer.body.error.code, appended]).toEqual([503, 'SERVICE_UNAVAILABLE', 0]);
      if (appended === 1) stored.add(s.node);
    });
    return stored;
  }

  /** Starts the worker and checks the aggregates hold exactly `samples` (the reference). */
  async function expectCountedExactly(samples: readonly RawNodeSample[]): Promise<void> {
    worker ??= await startWorker(config, quietLogger);
    await waitForDrained(admin, config.keyPrefix, config.streamPartitions, config.consumerGroup, 30_000);
    const totals = await fleetTotals(admin, config.keyPrefix, config.streamPartitions);
    expect(totals.samples).toBe(samples.length);
    const expected = new Map<string, number>();
    for (const s of samples) expected.set(s.node, (expected.get(s.node) ?? 0) + 1);
    expect(await perNodeCounts(admin, config.keyPrefix, config.streamPartitions, [...expected.keys()])).toEqual(expected);
    const average = await request(`${pipeline!.url}/v1/analytics/nodes/average?timeslice=60`);
    const reference = expectedFleetAverage(samples, 60);
    expect(average.body.timeslice).toBe(reference.timeslice);
    expect(average.body.cpu_used).toBeCloseTo(reference.cpu_used!, 9);
    expect(average.body.mem_used).toBeCloseTo(reference.mem_used!, 9);
  }

  test('concurrent POSTs share entries; each answer covers its samples and every sample counts once', async () => {
    await start(PATIENT);
    const singles = nodeSamples('gc-single', 150);
    const batches = Array.from({ length: 20 }, (_, b) => nodeSamples(`gc-batch-${b}`, 5));
    // Writes paused for a moment: every request queues behind the first write.
    await pauseWrites(5000);
    const pending = [...singles.map((s) => postNode(s)), ...batches.map((batch) => postJson(`${pipeline!.url}/v1/samples`, batch))];
    await sleep(QUEUE_UP_MS);
    await admin.client('UNPAUSE');
    const answers = await Promise.all(pending);
    expect(answers.map((a) => a.status)).toEqual(answers.map(() => 202));
    const all = [...singles, ...batches.flat()];
    // Grouped: fewer entries than one per partition per request, and every line in the streams exactly once.
    const ungroupedEntries = answers.reduce((sum, a) => sum + (a.body.ids?.length ?? 1), 0);
    expect(await entriesAdded()).toBeLessThan(ungroupedEntries / 2);
    expect(await appendedLines()).toEqual(new Map(all.map((s) => [s.node, 1])));
    worker = await startWorker(config, quietLogger);
    // Each token covers the request's own samples: ?after= sees its node.
    const seen = await Promise.all(singles.map((s, i) => request(`${pipeline!.url}/v1/nodes/${s.node}?after=${answers[i]!.body.token}`)));
    expect(seen.map((r) => r.status)).toEqual(singles.map(() => 200));
    for (const [b, batch] of batches.entries()) {
      const answer = answers[singles.length + b]!;
      expect(answer.body.accepted).toBe(batch.length);
      const last = await request(`${pipeline!.url}/v1/nodes/${batch[batch.length - 1]!.node}?after=${answer.body.token}`);
      expect(last.status).toBe(200);
    }
    await expectCountedExactly(all);
  });

  test('a group stays within its bound (10,000 samples); a larger request goes alone', async () => {
    await start({ ...PATIENT, MAX_BATCH_ITEMS: '20000' });
    const large = nodeSamples('gc-large', 12_000);
    const batches = Array.from({ length: 4 }, (_, b) => nodeSamples(`gc-bounded-${b}`, 4000));
    await pauseWrites(5000);
    const pending = [large, ...batches].map((batch) => postJson(`${pipeline!.url}/v1/samples`, batch));
    await sleep(QUEUE_UP_MS);
    await admin.client('UNPAUSE');
    const answers = await Promise.all(pending);
    expect(answers.map((a) => a.status)).toEqual(answers.map(() => 202));
    // A group's entries carry its id: count each group's lines over all partitions.
    const groups = new Map<string, string[]>();
    for (const p of partitions()) {
      for (const [, fields] of (await admin.xrange(p.stream, '-', '+')) as [string, string[]][]) {
        const lines = fields[fields.indexOf(ENTRY_FIELD) + 1]!.split('\n');
        const group = fields[fields.indexOf(GROUP_FIELD) + 1]!;
        groups.set(group, [...(groups.get(group) ?? []), ...lines.map((line) => line.split('\t')[1]!)]);
      }
    }
    const sizes = [...groups.values()].map((nodes) => {
      const fromLarge = nodes.filter((node) => node.startsWith('gc-large-')).length;
      // The large request alone, or requests that fit the bound together.
      return fromLarge > 0
        ? fromLarge === nodes.length
          ? 'large alone'
          : 'large with others'
        : nodes.length <= 10_000
          ? 'bounded'
          : 'over';
    });
    expect(sizes.filter((size) => size === 'large alone')).toHaveLength(1);
    expect(sizes.filter((size) => size !== 'large alone' && size !== 'bounded')).toEqual([]);
    // Fewer groups than requests: some 4,000-sample batches went together.
    expect(sizes.length).toBeLessThan(answers.length);
    expect(await appendedLines()).toEqual(new Map([...large, ...batches.flat()].map((s) => [s.node, 1])));
  });

  test('retries of one Idempotency-Key sent with the first, in the same burst, append once and answer alike', async () => {
    await start(PATIENT);
    const keyed = nodeSamples('gc-keyed', 1)[0]!;
    const others = nodeSamples('gc-other', 30);
    const introduced = await introduce([keyed, ...others]);
    await pauseWrites(5000);
    const pending = [
      ...Array.from({ length: 6 }, () => postNode(keyed, 'burst-key')),
      ...others.map((s) => postNode(s)),
      ...Array.from({ length: 6 }, () => postNode(keyed, 'burst-key')),
    ];
    await sleep(QUEUE_UP_MS);
    await admin.client('UNPAUSE');
    const answers = await Promise.all(pending);
    expect(answers.map((a) => a.status)).toEqual(answers.map(() => 202));
    const keyedAnswers = [...answers.slice(0, 6), ...answers.slice(6 + others.length)];
    expect(new Set(keyedAnswers.map((a) => JSON.stringify(a.body))).size).toBe(1);
    expect(keyedAnswers.filter((a) => a.headers.get('idempotent-replayed') === 'true')).toHaveLength(11);
    expect((await appendedLines()).get(keyed.node)).toBe(2);
    expect(await entriesAdded()).toBeLessThan(answers.length);
    await expectCountedExactly([...introduced, keyed, ...others]);
  });

  test('a reused Idempotency-Key in a group fails only that request', async () => {
    await start(PATIENT);
    const first = nodeSamples('gc-first', 1)[0]!;
    expect((await postNode(first, 'reused-key')).status).toBe(202);
    const others = nodeSamples('gc-neighbour', 20);
    const introduced = await introduce(others);
    await pauseWrites(5000);
    const pending = [
      ...others.slice(0, 10).map((s) => postNode(s, `own-${s.node}`)),
      postNode({ ...first, cpu: first.cpu + 1 }, 'reused-key'),
      ...others.slice(10).map((s) => postNode(s)),
    ];
    await sleep(QUEUE_UP_MS);
    await admin.client('UNPAUSE');
    const answers = await Promise.all(pending);
    expect(answers[10]!.status).toBe(422);
    expect(answers[10]!.body.error.code).toBe('IDEMPOTENCY_KEY_REUSED');
    const rest = answers.filter((_, i) => i !== 10);
    expect(rest.map((a) => a.status)).toEqual(rest.map(() => 202));
    await expectCountedExactly([...introduced, first, ...others]);
  });

  test('a shared write whose reply never comes: every request of the group answers 503 OUTCOME_UNKNOWN, and keyed retries count once', async () => {
    // The write times out after 300 ms; settling gives up after 600 ms more, long before Redis runs it.
    await start({ REDIS_COMMAND_TIMEOUT_MS: '300' });
    const keyed = nodeSamples('gc-unknown-keyed', 10);
    const unkeyed = nodeSamples('gc-unknown-plain', 10);
    const introduced = await introduce([...keyed, ...unkeyed]);
    await pauseWrites(3000);
    const pending = [...keyed.map((s) => postNode(s, `retry-${s.node}`)), ...unkeyed.map((s) => postNode(s))];
    const answers = await Promise.all(pending);
    for (const answer of answers) {
      expect(answer.status).toBe(503);
      expect(answer.body.error.code).toBe('OUTCOME_UNKNOWN');
    }
    await admin.client('UNPAUSE');
    // Whether the writes ran once Redis resumed or were dropped with the connection (ingest
    // reconnects after repeated timeouts), a retry with the same key stores each keyed request once.
    const retries = await Promise.all(keyed.map((s) => postUntilAnswered(s, `retry-${s.node}`)));
    expect(retries.map((r) => r.status)).toEqual(keyed.map(() => 202));
    const lines = await appendedLines();
    for (const s of keyed) expect(lines.get(s.node)).toBe(2);
    // A request without a key that answered OUTCOME_UNKNOWN is stored at most once, and counted if stored.
    const stored = expectTruthfulAnswers(unkeyed, answers.slice(keyed.length), lines);
    await expectCountedExactly([...introduced, ...keyed, ...unkeyed.filter((s) => stored.has(s.node))]);
  });

  test('a shared write whose connection drops: each request of the group answers what happened to it, and retries count once', async () => {
    await start({ REDIS_COMMAND_TIMEOUT_MS: '1000' });
    const samples = nodeSamples('gc-dropped', 12);
    const keyOf = (i: number) => (i % 2 === 0 ? `drop-${samples[i]!.node}` : undefined);
    const introduced = await introduce(samples);
    await pauseWrites(10_000);
    const pending = samples.map((s, i) => postNode(s, keyOf(i)));
    // Dropping ingest's connection while its script waits: Redis frees the client and never runs
    // the script; the requests queued behind it go out on the next connection and wait there.
    await sleep(FIRST_WRITE_MS);
    await admin.client('KILL', 'TYPE', 'normal', 'SKIPME', 'yes');
    const answers = await Promise.all(pending);
    await admin.client('UNPAUSE');
    const lines = await appendedLines();
    const stored = expectTruthfulAnswers(samples, answers, lines);
    // The write whose connection dropped was found not stored.
    expect(answers.filter((a) => a.body.error?.code === 'SERVICE_UNAVAILABLE').length).toBeGreaterThan(0);
    // Retry what a client would: keyed requests always, others only when surely not stored.
    const retried = await Promise.all(
      samples.map((s, i) =>
        keyOf(i) !== undefined || answers[i]!.body.error.code !== 'OUTCOME_UNKNOWN' ? postUntilAnswered(s, keyOf(i)) : undefined,
      ),
    );
    for (const answer of retried) if (answer) expect(answer.status).toBe(202);
    const counted = samples.filter((s, i) => retried[i] !== undefined || stored.has(s.node));
    await expectCountedExactly([...introduced, ...counted]);
  });

  test('a partition change paused, or a changed partition count, answers every request of the group', async () => {
    await start();
    const samples = nodeSamples('gc-paused', 16);
    // As `nodeagg partitions set` leaves them: the change marker, then every partition paused.
    const globals = globalKeys(config.keyPrefix);
    await admin.set(
      globals.partitionChange,
      JSON.stringify({ from: config.streamPartitions, to: 2 * config.streamPartitions, started_at: 'now' }),
    );
    await Promise.all(partitions().map((p) => admin.hset(p.meta, 'paused', '1')));
    const paused = await Promise.all(samples.map((s, i) => postNode(s, i % 2 === 0 ? `paused-${s.node}` : undefined)));
    for (const answer of paused) {
      expect(answer.status).toBe(503);
      expect(answer.body.error.code).toBe('PARTITION_CHANGE_IN_PROGRESS');
    }
    // Then the new count recorded, on every partition and globally, and the change over.
    await Promise.all(partitions().map((p) => admin.hset(p.meta, 'partitions', String(config.streamPartitions * 2))));
    await admin.set(globals.partitionCount, String(config.streamPartitions * 2));
    await Promise.all(partitions().map((p) => admin.hdel(p.meta, 'paused')));
    await admin.del(globals.partitionChange);
    // Ingest's own view of the change (refreshed in the background) may lag a moment behind.
    let recounted: JsonResponse[] = [];
    for (let attempt = 0; attempt < 50; attempt++) {
      recounted = await Promise.all(samples.map((s, i) => postNode(s, i % 2 === 0 ? `paused-${s.node}` : undefined)));
      if (!recounted.some((answer) => answer.body.error?.code === 'PARTITION_CHANGE_IN_PROGRESS')) break;
      await sleep(100);
    }
    for (const answer of recounted) {
      expect(answer.status).toBe(503);
      expect(answer.body.error.code).toBe('PARTITION_COUNT_CHANGED');
    }
    expect(await entriesAdded()).toBe(0);
    // Nothing was stored, so no key was used up either.
    await Promise.all(partitions().map((p) => admin.hset(p.meta, 'partitions', String(config.streamPartitions))));
    await admin.set(globals.partitionCount, String(config.streamPartitions));
    const accepted = await Promise.all(samples.map((s, i) => postUntilAnswered(s, i % 2 === 0 ? `paused-${s.node}` : undefined)));
    expect(accepted.map((a) => a.status)).toEqual(samples.map(() => 202));
  });
});

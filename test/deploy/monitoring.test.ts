/**
 * The monitoring kit (k8s/monitoring/) with the real Prometheus tools: `promtool check rules` and
 * `promtool test rules` on the PrometheusRule (every alert has a unit test in which it fires and one
 * in which it stays quiet), every dashboard query parses, and every metric an alert or a panel reads
 * is one the services really export: both processes are started against the suite's Redis and their
 * live /metrics pass `promtool check metrics`.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Redis } from 'ioredis';
import { parse } from 'yaml';
import { alertRules, type AlertRule } from '../support/ops-checks';
import { ROOT, loadKustomization, loadManifests } from '../support/deploy-files';
import { httpGet, start, stop, type Running } from '../support/entrypoint-processes';
import { freePort } from '../../launcher/free-port';
import {
  dashboardQueries,
  exposedFamilies,
  isExposed,
  metricNames,
  promtool,
  promtoolCheckRules,
  promtoolTestRules,
  readJson,
  syntaxErrors,
  type DashboardQuery,
} from '../support/promql';
import { waitUntil } from '../support/wait-until';

const monitoring = loadManifests(loadKustomization(path.join(ROOT, 'k8s', 'monitoring')));
const ruleObject = monitoring.find((m) => m.doc.kind === 'PrometheusRule');
const groups = (ruleObject?.doc as { spec?: { groups?: { name: string; rules: AlertRule[] }[] } } | undefined)?.spec?.groups ?? [];
const alerts = alertRules(monitoring).map((r) => r.rule);
const UNIT_TESTS_FILE = path.join(ROOT, 'test', 'deploy', 'monitoring', 'alerts.test.yaml');
const unitTests = readFileSync(UNIT_TESTS_FILE, 'utf8');
const dashboard = readJson<Parameters<typeof dashboardQueries>[0]>(
  path.join(ROOT, 'k8s', 'monitoring', 'dashboards', 'node-aggregation.json'),
);
const queries = dashboardQueries(dashboard);

interface UnitTests {
  tests?: { name?: string; alert_rule_test?: { alertname?: string; exp_alerts?: unknown[] }[] }[];
}

/** Alerts that lack a unit test in which they fire, or one in which they stay quiet. */
export function uncoveredAlerts(alertNames: string[], tests: UnitTests): string[] {
  const cases = (tests.tests ?? []).flatMap((t) => t.alert_rule_test ?? []);
  const problems: string[] = [];
  for (const name of alertNames) {
    const mine = cases.filter((c) => c.alertname === name);
    if (!mine.some((c) => (c.exp_alerts ?? []).length > 0)) problems.push(`${name}: no unit test in which it fires`);
    if (!mine.some((c) => (c.exp_alerts ?? []).length === 0)) problems.push(`${name}: no unit test in which it stays quiet`);
  }
  return problems;
}

/** Metric names read by the expressions that no family of the exposition provides. */
export function unexportedNames(expressions: DashboardQuery[], families: Map<string, string>): string[] {
  return expressions.flatMap((q) =>
    metricNames(q.expr)
      .filter((name) => !isExposed(name, families))
      .map((name) => `${q.where}: ${name}`),
  );
}

const alertExpressions: DashboardQuery[] = alerts.map((a) => ({ where: `alert ${a.alert ?? '?'}`, expr: a.expr ?? '' }));

describe('alert rules (k8s/monitoring/prometheusrule.yaml)', () => {
  test('promtool check rules accepts them', () => {
    const run = promtoolCheckRules(groups);
    expect({ status: run.status, output: run.output }).toMatchObject({ status: 0 });
    expect(run.output).toContain(`SUCCESS: ${alerts.length} rules found`);
  });

  test('promtool test rules passes every unit test', () => {
    const run = promtoolTestRules(groups, unitTests);
    if (run.status !== 0) throw new Error(run.output);
    expect(run.output).toContain('SUCCESS');
  });

  test('every alert has a unit test in which it fires and one in which it stays quiet', () => {
    expect(alerts.length).toBeGreaterThanOrEqual(7);
    expect(
      uncoveredAlerts(
        alerts.map((a) => a.alert ?? ''),
        parse(unitTests) as UnitTests,
      ),
    ).toEqual([]);
  });

  test('the unit tests catch a rule that can no longer fire', () => {
    const broken = structuredClone(groups);
    const stalled = broken.flatMap((g) => g.rules).find((r) => r.alert === 'NodeaggPartitionStalled');
    if (!stalled) throw new Error('no NodeaggPartitionStalled');
    stalled.expr = (stalled.expr ?? '').replace('> 0', '> 1');
    const run = promtoolTestRules(broken, unitTests);
    expect(run.status).not.toBe(0);
    expect(run.output).toMatch(/FAILED[\s\S]*NodeaggPartitionStalled/);
  });

  test('the coverage check reports an alert without a quiet case and one without a firing case', () => {
    const tests = parse(unitTests) as UnitTests;
    for (const t of tests.tests ?? []) {
      t.alert_rule_test = (t.alert_rule_test ?? []).filter(
        (c) =>
          !(c.alertname === 'NodeaggLagGrowing' && (c.exp_alerts ?? []).length === 0) &&
          !(c.alertname === 'NodeaggIngestErrors' && (c.exp_alerts ?? []).length > 0),
      );
    }
    expect(uncoveredAlerts(['NodeaggLagGrowing', 'NodeaggIngestErrors'], tests)).toEqual([
      'NodeaggLagGrowing: no unit test in which it stays quiet',
      'NodeaggIngestErrors: no unit test in which it fires',
    ]);
  });
});

describe('Grafana dashboard (k8s/monitoring/dashboards/node-aggregation.json)', () => {
  test('has the panels an operator needs', () => {
    const all = queries.map((q) => q.expr).join('\n');
    for (const metric of [
      'nodeagg_samples_accepted_total',
      'nodeagg_samples_applied_total',
      'nodeagg_stream_lag',
      'nodeagg_stream_pending',
      'nodeagg_http_request_duration_seconds_bucket',
      'nodeagg_dead_letters',
      'nodeagg_dead_lettered_total',
      'nodeagg_redis_used_memory_bytes',
      'nodeagg_ingest_process_cpu_seconds_total',
      'nodeagg_worker_process_resident_memory_bytes',
    ]) {
      expect(all).toContain(metric);
    }
  });

  test('every query parses, by the PromQL grammar and by promtool', () => {
    expect(queries.length).toBeGreaterThan(10);
    expect(queries.flatMap((q) => syntaxErrors(q.expr).map((e) => `${q.where}: ${e}`))).toEqual([]);
    const recorded = [{ name: 'dashboard', rules: queries.map((q, i) => ({ record: `dashboard:query_${i}`, expr: q.expr })) }];
    const run = promtoolCheckRules(recorded);
    if (run.status !== 0) throw new Error(run.output);
  });

  test('a broken query is reported by both', () => {
    const broken = 'sum(rate(nodeagg_samples_accepted_total[5m])'; // a parenthesis short
    expect(syntaxErrors(broken).length).toBeGreaterThan(0);
    expect(promtoolCheckRules([{ name: 'dashboard', rules: [{ record: 'dashboard:broken', expr: broken }] }]).status).not.toBe(0);
  });
});

describe('against the live /metrics of both services', () => {
  const prefix = `monitoring-${randomBytes(4).toString('hex')}`;
  const running: Running[] = [];
  const exposition: Record<'ingest' | 'worker', string> = { ingest: '', worker: '' };

  beforeAll(async () => {
    const ingestPort = await freePort();
    const workerPort = await freePort();
    const env = {
      PATH: process.env.PATH,
      REDIS_URL: process.env.REDIS_URL,
      KEY_PREFIX: prefix,
      INGEST_HOST: '127.0.0.1',
      INGEST_PORT: String(ingestPort),
      WORKER_HEALTH_PORT: String(workerPort),
      MAINTENANCE_INTERVAL_MS: '200',
      LOG_LEVEL: 'warn',
    };
    running.push(start([process.execPath, path.join(ROOT, 'dist', 'ingest', 'main.js')], env, ROOT));
    running.push(start([process.execPath, path.join(ROOT, 'dist', 'worker', 'main.js')], env, ROOT));
    const ready = async (port: number) => (await httpGet(port, '/readyz').catch(() => ({ status: 0 }))).status === 200;
    await waitUntil(async () => (await ready(ingestPort)) && (await ready(workerPort)), 30000, 200);
    // One accepted sample, so the request histogram and the pipeline figures have series.
    const res = await fetch(`http://127.0.0.1:${ingestPort}/v1/metrics/node/monitoring-test`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ timeslice: 10, cpu: 1, mem: 2 }),
    });
    expect(res.status).toBe(202);
    // The gauges come from the figures the maintenance job records: wait until both serve them.
    await waitUntil(
      async () => {
        exposition.ingest = (await httpGet(ingestPort, '/metrics')).body;
        exposition.worker = (await httpGet(workerPort, '/metrics')).body;
        return (
          /^nodeagg_stream_length\{/m.test(exposition.ingest) &&
          /^nodeagg_stream_length\{/m.test(exposition.worker) &&
          /^nodeagg_samples_applied_total [1-9]/m.test(exposition.worker)
        );
      },
      30000,
      200,
    );
  }, 60000);

  afterAll(async () => {
    for (const r of running) {
      r.child.kill('SIGTERM');
    }
    await Promise.all(running.map((r) => stop(r)));
    const redis = new Redis(process.env.REDIS_URL ?? '', { maxRetriesPerRequest: 1 });
    try {
      const keys = await redis.keys(`${prefix}:*`);
      if (keys.length > 0) await redis.del(...keys);
    } finally {
      redis.disconnect();
    }
  });

  test.each([['ingest'], ['worker']] as const)('promtool check metrics accepts the %s exposition', (role) => {
    expect(exposition[role]).toMatch(/^# TYPE /m);
    const run = promtool(['check', 'metrics'], { input: exposition[role] });
    expect({ status: run.status, output: run.output.trim() }).toEqual({ status: 0, output: '' });
  });

  test('every metric an alert or a dashboard panel reads is exported by ingest or worker', () => {
    const families = new Map([...exposedFamilies(exposition.ingest), ...exposedFamilies(exposition.worker)]);
    const missing = unexportedNames([...alertExpressions, ...queries], families);
    expect(missing).toEqual([]);
  });

  test('the name check reports a metric no service exports', () => {
    const families = exposedFamilies(exposition.ingest);
    expect(
      unexportedNames(
        [{ where: 'panel "x" target A', expr: 'sum(rate(nodeagg_nope_total[5m])) / nodeagg_samples_accepted_total' }],
        families,
      ),
    ).toEqual(['panel "x" target A: nodeagg_nope_total']);
  });
});

/** docs/AGENTS.md shows what works: the collectd text the collectd test runs, a Collector configuration with every needed setting, and a nodeagg agent command that runs. */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { toNodeName } from '../../cli/agent/agent-names';
import { collectdConfig } from '../support/collectd-config';
import { request } from '../support/fetch-json';
import { startPipeline } from '../support/pipeline';
import { testConfig } from '../support/test-config';
import { bearer, testTokens } from '../support/tokens';
import { waitUntil } from '../support/wait-until';

const ROOT = join(__dirname, '..', '..');
const doc = readFileSync(join(ROOT, 'docs', 'AGENTS.md'), 'utf8');

/** The fenced blocks of a section, by language. */
function blocks(section: string, language: string): string[] {
  const start = doc.indexOf(`## ${section}`);
  const end = doc.indexOf('\n## ', start + 1);
  const text = doc.slice(start, end === -1 ? undefined : end);
  return [...text.matchAll(new RegExp('```' + language + '\\n([\\s\\S]*?)```', 'g'))].map((m) => m[1]!);
}

test('the collectd configuration is the text the collectd test generates', () => {
  const expected = collectdConfig({
    hostname: 'web-1',
    intervalSeconds: 10,
    baseDir: '/var/lib/collectd',
    pidFile: '/run/collectd.pid',
    url: 'http://ingest:8080/collectd',
    token: 'WRITE_TOKEN',
    processes: { nginx: 'nginx: (master|worker)', postgres: '^postgres' },
  });
  expect(blocks('collectd', '')[0]).toBe(expected);
});

test('the Collector configuration enables the utilization metrics, names the host, batches and exports to /otlp with a token', () => {
  const config = parse(blocks('OpenTelemetry Collector', 'yaml')[0]!);
  const scrapers = config.receivers.hostmetrics.scrapers;
  expect(scrapers.cpu.metrics['system.cpu.utilization'].enabled).toBe(true);
  expect(scrapers.memory.metrics['system.memory.utilization'].enabled).toBe(true);
  expect(scrapers.process.metrics['process.cpu.utilization'].enabled).toBe(true);
  expect(config.processors.resourcedetection.detectors).toContain('system');
  expect(config.processors.batch).toBeDefined();
  expect(config.exporters.otlphttp.endpoint).toMatch(/\/otlp$/); // the exporter appends /v1/metrics
  expect(config.exporters.otlphttp.headers.Authorization).toMatch(/^Bearer /);
  // The interval header agrees with the collection interval.
  expect(`${config.exporters.otlphttp.headers['Nodeagg-Interval']}s`).toBe(config.receivers.hostmetrics.collection_interval);
  expect(config.service.pipelines.metrics).toEqual({
    receivers: ['hostmetrics'],
    processors: ['resourcedetection', 'batch'],
    exporters: ['otlphttp'],
  });
});

test('the nodeagg agent command runs as written (with a write token) and the node appears', async () => {
  const line = blocks('`nodeagg agent`', 'sh')[0]!.trim();
  const args = line.slice(line.indexOf('nodeagg ') + 'nodeagg '.length).split(/\s+/);
  expect(line).toMatch(/^NODEAGG_URL=\S+ NODEAGG_TOKEN=\S+ nodeagg agent /);
  const tokens = testTokens();
  const pipeline = await startPipeline(testConfig({ API_TOKENS: tokens.apiTokens }));
  try {
    await promisify(execFile)(process.execPath, [join(ROOT, 'dist', 'cli', 'main.js'), ...args, '--once'], {
      env: { ...process.env, NODEAGG_URL: pipeline.url, NODEAGG_TOKEN: tokens.secrets.write },
      timeout: 40_000,
    });
    const node = toNodeName(hostname());
    await waitUntil(
      async () => (await request(`${pipeline.url}/v1/nodes/${node}`, { headers: bearer(tokens.secrets.read) })).status === 200,
      20_000,
    );
  } finally {
    await pipeline.stop();
  }
});

/** /metrics tells the truth (issue 9): the status answered and the route's template, also in a Redis outage. */
import { startIngest, type RunningIngest } from '../../ingest/server';
import { startPrivateRedis, type PrivateRedis } from '../../launcher/private-redis';
import { request } from '../support/fetch-json';
import { quietLogger, testConfig } from '../support/test-config';

function durationCounts(metrics: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const match of metrics.matchAll(/^nodeagg_http_request_duration_seconds_count\{([^}]*)\} (\d+)/gm)) {
    counts.set(match[1]!, Number(match[2]));
  }
  return counts;
}

describe('/metrics records what was answered', () => {
  let redisServer: PrivateRedis;
  let ingest: RunningIngest;
  beforeAll(async () => {
    redisServer = await startPrivateRedis();
    ingest = await startIngest(testConfig({ REDIS_URL: redisServer.url, REDIS_COMMAND_TIMEOUT_MS: '300' }), quietLogger);
  });
  afterAll(async () => {
    await ingest.close();
    await redisServer.destroy();
  });

  test('404s, 400s and a Redis outage’s 503s carry their real status and the route template', async () => {
    expect((await request(`${ingest.url}/v1/nodes/ghost`)).status).toBe(404);
    expect((await request(`${ingest.url}/no/such/route`)).status).toBe(404);
    expect((await request(`${ingest.url}/v1/analytics/nodes/average?after=garbage`)).status).toBe(400);
    expect((await request(`${ingest.url}/v1/analytics/processes`, { method: 'DELETE' })).status).toBe(405);
    await redisServer.stop('SIGKILL');
    try {
      expect((await request(`${ingest.url}/v1/nodes`)).status).toBe(503);
      expect((await request(`${ingest.url}/v1/nodes/web-1`)).status).toBe(503);
      const metrics = await request(`${ingest.url}/metrics`);
      expect(metrics.status).toBe(200);
      const counts = durationCounts(String(metrics.body));
      expect(counts.get('method="GET",route="/v1/nodes/:nodename",status="404"')).toBe(1);
      expect(counts.get('method="GET",route="unmatched",status="404"')).toBe(1);
      expect(counts.get('method="GET",route="/v1/analytics/nodes/average",status="400"')).toBe(1);
      expect(counts.get('method="DELETE",route="/v1/analytics/processes",status="405"')).toBe(1);
      expect(counts.get('method="GET",route="/v1/nodes",status="503"')).toBe(1);
      expect(counts.get('method="GET",route="/v1/nodes/:nodename",status="503"')).toBe(1);
      for (const labels of counts.keys()) expect(labels).toMatch(/route="(unmatched|\/[A-Za-z0-9/:_-]*)"/);
    } finally {
      await redisServer.restart();
    }
  });
});

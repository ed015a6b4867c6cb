/** Names of dots only are refused (issue 9): as path segments they would resolve to other routes. */
import { request as httpRequest } from 'node:http';
import { urlSegment } from '../../ingest/url-segment';
import { request } from '../support/fetch-json';
import { startPipeline, type TestPipeline } from '../support/pipeline';
import { testConfig } from '../support/test-config';

/** node:http sends the path as written; fetch would resolve "%2E%2E" as "..". */
function rawPost(url: string, path: string, body: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res.on('data', (chunk) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const sample = { timeslice: 10, cpu_used: 1, mem_used: 1 };

describe('names of dots only', () => {
  let pipeline: TestPipeline;
  beforeAll(async () => {
    pipeline = await startPipeline(testConfig(), { worker: false });
  });
  afterAll(() => pipeline.stop());

  test.each(['.', '..', '...', '....'])('process name %j is 422 in a batch item', async (name) => {
    const answer = await request(`${pipeline.url}/v1/samples`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify([{ node: 'n1', process: name, ...sample }]),
    });
    expect(answer.status).toBe(422);
    expect(answer.body.error.details[0]).toMatchObject({ index: 0, field: 'process' });
  });

  test.each(['%2E', '%2E%2E', '%2e%2e%2e', '%2E%2E%2E%2E'])('process name %s in the path is refused', async (segment) => {
    const answer = await rawPost(pipeline.url, `/v1/metrics/nodes/n1/process/${segment}`, JSON.stringify(sample));
    // The router itself does not match "." and ".." segments (404); longer ones fail validation.
    expect([404, 422]).toContain(answer.status);
    if (answer.status === 422) expect(JSON.parse(answer.body).error.details[0].field).toBe('processname');
  });

  test('names with dots among other characters are fine', async () => {
    const answer = await request(`${pipeline.url}/v1/samples`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify([
        { node: 'n1', process: '..a', ...sample },
        { node: 'n1', process: 'java.exe', ...sample },
      ]),
    });
    expect(answer.status).toBe(202);
  });

  test('listing URLs are percent-encoded, dots-only names included', () => {
    expect(urlSegment('a b/c')).toBe('a%20b%2Fc');
    expect(urlSegment('#1')).toBe('%231');
    expect(urlSegment('..')).toBe('%2E%2E');
    expect(urlSegment('a.b')).toBe('a.b');
  });
});

/**
 * What a write answers, byte for byte: the status, a JSON Content-Type with its charset, a
 * Content-Length that matches the body, and the body's fields. The answer is set on Koa's
 * response object and sent as text (ingest/answer.ts), so these are what Koa's own JSON
 * handling used to produce.
 */
import { exportRequest, hostResource } from '../support/otlp-fixtures';
import { startPipeline, type TestPipeline } from '../support/pipeline';
import { testConfig } from '../support/test-config';

interface RawAnswer {
  status: number;
  type: string | null;
  length: string | null;
  replayed: string | null;
  text: string;
}

async function post(url: string, body: string, headers: Record<string, string> = {}): Promise<RawAnswer> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
  const text = await response.text();
  return {
    status: response.status,
    type: response.headers.get('content-type'),
    length: response.headers.get('content-length'),
    replayed: response.headers.get('idempotent-replayed'),
    text,
  };
}

const ENTRY_ID = /^\d+-\d+$/;
const TOKEN = /^\d+_\d+-\d+(\.\d+_\d+-\d+)*$/;

function expectJsonAnswer(answer: RawAnswer, status: number): Record<string, unknown> {
  expect(answer.status).toBe(status);
  expect(answer.type).toBe('application/json; charset=utf-8');
  expect(answer.length).toBe(String(Buffer.byteLength(answer.text)));
  return JSON.parse(answer.text) as Record<string, unknown>;
}

describe('the answers of the write routes', () => {
  let pipeline: TestPipeline;
  beforeAll(async () => {
    pipeline = await startPipeline(testConfig({ STREAM_PARTITIONS: '2' }), { worker: false });
  });
  afterAll(async () => {
    await pipeline.stop();
  });

  test.each([
    ['/v1/metrics/node/answer-a', { timeslice: 10, cpu: 42.5, mem: 61 }],
    ['/v1/metrics/nodes/answer-a/process/nginx', { timeslice: 10, cpu_used: 1.5, mem_used: 2 }],
    ['/v1/metrics/node/answer-a/process/nginx', { timeslice: 10, cpu_used: 1.5, mem_used: 2 }],
  ])('POST %s answers 202 with its entry id and token as JSON', async (path, sample) => {
    const answer = await post(`${pipeline.url}${path}`, JSON.stringify(sample));
    const body = expectJsonAnswer(answer, 202);
    expect(Object.keys(body)).toEqual(['id', 'token']);
    expect(body.id).toMatch(ENTRY_ID);
    expect(body.token).toMatch(TOKEN);
    // Written as text by the route (no JSON.stringify): the same bytes JSON.stringify writes.
    expect(answer.text).toBe(JSON.stringify({ id: body.id, token: body.token }));
  });

  test('a batch answers 202 with its count, ids and token as JSON', async () => {
    const samples = [
      { node: 'answer-b', timeslice: 10, cpu: 1, mem: 2 },
      { node: 'answer-c', process: 'sshd', timeslice: 10, cpu_used: 0.5, mem_used: 1 },
    ];
    const body = expectJsonAnswer(await post(`${pipeline.url}/v1/samples`, JSON.stringify(samples)), 202);
    expect(body.accepted).toBe(2);
    expect((body.ids as string[]).every((id) => ENTRY_ID.test(id))).toBe(true);
    expect(body.token).toMatch(TOKEN);
  });

  test('an OTLP JSON export answers 200 with an empty JSON object', async () => {
    const reading = exportRequest([hostResource({ node: 'answer-e', timeMs: Date.now(), idle: [0.5], memUsedShare: 0.25 })]);
    expect(expectJsonAnswer(await post(`${pipeline.url}/otlp/v1/metrics`, JSON.stringify(reading)), 200)).toEqual({});
  });

  test('a retry with the same Idempotency-Key answers the same JSON, marked as replayed', async () => {
    const url = `${pipeline.url}/v1/metrics/node/answer-d`;
    const sample = JSON.stringify({ timeslice: 10, cpu: 3, mem: 4 });
    const first = await post(url, sample, { 'idempotency-key': 'answer-replay-1' });
    const again = await post(url, sample, { 'idempotency-key': 'answer-replay-1' });
    expect(expectJsonAnswer(again, 202)).toEqual(expectJsonAnswer(first, 202));
    expect(first.replayed).toBeNull();
    expect(again.replayed).toBe('true');
  });
});

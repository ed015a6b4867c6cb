/** README's API end to end over HTTP, checked against the reference model of README's window semantics. */
import fc from 'fast-check';
import { asNodeItem, asProcessItem, baseTime, buildNodeSample, buildProcessSample } from '../support/build-sample';
import { postJson, request } from '../support/fetch-json';
import { startPipeline, type TestPipeline } from '../support/pipeline';
import {
  expectedFleetAverage,
  expectedProcess,
  expectedProcessList,
  type RawNodeSample,
  type RawProcessSample,
} from '../support/reference-model';
import { testConfig } from '../support/test-config';

function expectClose(actual: Record<string, unknown>, expected: Record<string, unknown>): void {
  expect(Object.keys(actual).sort()).toEqual(Object.keys(expected).sort());
  for (const [key, value] of Object.entries(expected)) {
    if (typeof value === 'number') expect(actual[key]).toBeCloseTo(value, 9);
    else expect(actual[key]).toEqual(value);
  }
}

async function postBatch(url: string, items: unknown[]): Promise<string> {
  const response = await postJson(`${url}/v1/samples`, items);
  expect(response.status).toBe(202);
  return response.body.token as string;
}

/** Runs against the suite's Redis, or the cluster of a test in test/cluster/ (testEnv). */
export function compatibilityApiScenarios(): void {
  describe('the compatibility API', () => {
    let pipeline: TestPipeline;
    beforeEach(async () => {
      pipeline = await startPipeline(testConfig());
    });
    afterEach(async () => {
      await pipeline.stop();
    });

    test('an empty fleet answers timeslice 0 and null averages, and an empty process list', async () => {
      const average = await request(`${pipeline.url}/v1/analytics/nodes/average`);
      expect(average.status).toBe(200);
      expect(average.body).toEqual({ timeslice: 0, cpu_used: null, mem_used: null });
      const processes = await request(`${pipeline.url}/v1/analytics/processes`);
      expect(processes.body).toEqual({ timeslice: 0, processes: [] });
    });

    test('the single-sample routes accept with 202 and the entry id, with and without trailing slash', async () => {
      const t = baseTime();
      const paths = [
        ['/v1/metrics/node/web-1', { timeslice: 10, cpu: 40, mem: 50, at: t }],
        ['/v1/metrics/node/web-2/', { timeslice: 30, cpu: 10, mem: 20, at: t - 5000 }],
        ['/v1/metrics/nodes/web-1/process/nginx', { timeslice: 10, cpu_used: 150, mem_used: 512, at: t }],
        ['/v1/metrics/node/web-2/process/nginx/', { timeslice: 20, cpu_used: 50, mem_used: 256, at: t - 1000 }],
        ['/v1/metrics/nodes/web-2/process/kworker%2F0%3A1', { timeslice: 5, cpu_used: 1, mem_used: 0, at: t - 2000 }],
      ] as const;
      const tokens: string[] = [];
      for (const [path, body] of paths) {
        const response = await postJson(`${pipeline.url}${path}`, body);
        expect(response.status).toBe(202);
        expect(response.body.id).toMatch(/^\d+-\d+$/);
        tokens.push(response.body.token);
      }
      // Each POST has its own token (its partition); wait for every one.
      for (const token of tokens) {
        expect((await request(`${pipeline.url}/v1/analytics/nodes/average?after=${token}`)).status).toBe(200);
      }
      const average = await request(`${pipeline.url}/v1/analytics/nodes/average/?timeslice=60`);
      expect(average.status).toBe(200);
      expect(average.body).toEqual({ timeslice: 35, cpu_used: (40 * 10 + 10 * 30) / 40, mem_used: (50 * 10 + 20 * 30) / 40 });

      const nginx = await request(`${pipeline.url}/v1/analytics/processes/nginx/?timeslice=60`);
      expect(nginx.status).toBe(200);
      expect(nginx.body).toEqual({
        timeslice: 21,
        cpu_used: (150 * 10 + 50 * 20) / 30,
        mem_used: (512 * 10 + 256 * 20) / 30,
        num_instances: 2,
      });

      const list = await request(`${pipeline.url}/v1/analytics/processes/`);
      expect(list.body.processes).toEqual([
        { name: 'kworker/0:1', url: '/v1/analytics/processes/kworker%2F0%3A1/' },
        { name: 'nginx', url: '/v1/analytics/processes/nginx/' },
      ]);
      const byUrl = await request(`${pipeline.url}${list.body.processes[0].url}`);
      expect(byUrl.body.num_instances).toBe(1);
    });

    test('an unknown process answers 404 with an error body', async () => {
      const response = await request(`${pipeline.url}/v1/analytics/processes/nope`);
      expect(response.status).toBe(404);
      expect(response.body.error.code).toBe('PROCESS_NOT_FOUND');
    });

    test('a process outside the window is not listed and answers 404', async () => {
      const t = baseTime();
      const token = await postBatch(pipeline.url, [
        asProcessItem(buildProcessSample({ process: 'old', at: t - 120_000 })),
        asProcessItem(buildProcessSample({ process: 'new', at: t })),
      ]);
      const list = await request(`${pipeline.url}/v1/analytics/processes?timeslice=60&after=${token}`);
      expect(list.body.processes.map((p: { name: string }) => p.name)).toEqual(['new']);
      // "old" has its own T (its latest sample), so it is found over its own history.
      expect((await request(`${pipeline.url}/v1/analytics/processes/old?timeslice=60`)).status).toBe(200);
      const wide = await request(`${pipeline.url}/v1/analytics/processes?timeslice=121`);
      expect(wide.body.processes.map((p: { name: string }) => p.name)).toEqual(['new', 'old']);
    });

    test('windows longer than an hour use minute buckets and stay exact away from the edge', async () => {
      const t = Math.floor(Date.now() / 60_000) * 60_000 - 60_000;
      const samples: RawNodeSample[] = [];
      for (let i = 0; i < 50; i++) {
        samples.push(
          buildNodeSample({ node: `n${i % 7}`, at: t - i * 150_000, timeslice: 30 + (i % 5), cpu: (i * 7) % 100, mem: (i * 13) % 100 }),
        );
      }
      const token = await postBatch(pipeline.url, samples.map(asNodeItem));
      for (const q of [5400, 7230, 10_000]) {
        const response = await request(`${pipeline.url}/v1/analytics/nodes/average?timeslice=${q}&after=${token}`);
        expectClose(response.body, expectedFleetAverage(samples, q));
      }
    });

    test('property: random fleets answer exactly as the reference model', async () => {
      const nodeNames = ['a', 'b', 'c', 'db-1', 'web.2'];
      const processNames = ['nginx', 'postgres', 'java', 'sshd'];
      const nodeSample = fc.record({
        node: fc.constantFrom(...nodeNames),
        offset: fc.integer({ min: 0, max: 3600 }),
        timeslice: fc.integer({ min: 1, max: 600 }),
        cpu: fc.double({ min: 0, max: 100, noNaN: true }),
        mem: fc.double({ min: 0, max: 100, noNaN: true }),
      });
      const processSample = fc.record({
        node: fc.constantFrom(...nodeNames),
        process: fc.constantFrom(...processNames),
        offset: fc.integer({ min: 0, max: 3600 }),
        timeslice: fc.integer({ min: 1, max: 600 }),
        cpu_used: fc.double({ min: 0, max: 800, noNaN: true }),
        mem_used: fc.double({ min: 0, max: 64_000, noNaN: true }),
      });
      await fc.assert(
        fc.asyncProperty(
          fc.array(nodeSample, { minLength: 0, maxLength: 40 }),
          fc.array(processSample, { minLength: 0, maxLength: 40 }),
          fc.integer({ min: 1, max: 3600 }),
          async (nodeDraws, processDraws, q) => {
            const local = await startPipeline(testConfig());
            try {
              const t = baseTime();
              const nodes: RawNodeSample[] = nodeDraws.map(({ offset, ...s }) => ({ ...s, at: t - offset * 1000 }));
              const procs: RawProcessSample[] = processDraws.map(({ offset, ...s }) => ({ ...s, at: t - offset * 1000 }));
              const items = [...nodes.map(asNodeItem), ...procs.map(asProcessItem)];
              const token = items.length > 0 ? await postBatch(local.url, items) : '';
              const after = token ? `&after=${token}` : '';
              const average = await request(`${local.url}/v1/analytics/nodes/average?timeslice=${q}${after}`);
              expectClose(average.body, expectedFleetAverage(nodes, q));
              const list = await request(`${local.url}/v1/analytics/processes?timeslice=${q}`);
              expectClose(list.body, expectedProcessList(procs, q));
              for (const name of processNames) {
                const response = await request(`${local.url}/v1/analytics/processes/${name}?timeslice=${q}`);
                const expected = expectedProcess(procs, name, q);
                if (expected === null) expect(response.status).toBe(404);
                else expectClose(response.body, expected);
              }
            } finally {
              await local.stop();
            }
          },
        ),
        { numRuns: 25 },
      );
    });
  });
}

/**
 * Per-node views (README, API): the list, one node's 1/5/15-minute summary, its series, and
 * the list paged with a cursor across partitions (each partition's name index answers its
 * share of a page, in its own cluster slot on a Redis Cluster).
 */
import { partitionOf } from '../../shared/partition';
import { baseTime } from '../support/build-sample';
import { postJson, request } from '../support/fetch-json';
import { startPipeline, type TestPipeline } from '../support/pipeline';
import { testConfig } from '../support/test-config';

export interface NodeViewsOptions {
  /** Nodes posted for the paged list (one sample each). */
  pagedNodes: number;
}

const PARTITIONS = 3;
const PAGE = 7;

/** Runs against the suite's Redis, or the cluster of a test in test/cluster/ (testEnv). */
export function nodeViewsScenarios(options: NodeViewsOptions): void {
  describe('node views', () => {
    let pipeline: TestPipeline;
    beforeAll(async () => {
      pipeline = await startPipeline(testConfig({ STREAM_PARTITIONS: String(PARTITIONS) }));
    });
    afterAll(async () => {
      await pipeline.stop();
    });

    test('list, summary windows, processes and series come from the aggregates', async () => {
      const t = baseTime();
      // db-1: one sample a minute for 20 minutes, cpu = minute index, mem = 50.
      const items: Record<string, unknown>[] = Array.from({ length: 20 }, (_, i) => ({
        node: 'db-1',
        at: t - i * 60_000,
        timeslice: 60,
        cpu: i,
        mem: 50,
      }));
      items.push({ node: 'web-1', at: t, timeslice: 10, cpu: 99, mem: 1 });
      items.push({ node: 'db-1', process: 'postgres', at: t, timeslice: 60, cpu_used: 80, mem_used: 900 });
      const posted = await postJson(`${pipeline.url}/v1/samples`, items);
      expect(posted.status).toBe(202);

      const list = await request(`${pipeline.url}/v1/nodes?after=${posted.body.token}`);
      expect(list.body.count).toBe(2);
      expect(list.body.nodes.map((n: { name: string }) => n.name)).toEqual(['db-1', 'web-1']);
      expect(list.body.nodes[0]).toMatchObject({
        first_seen: new Date(t - 19 * 60_000).toISOString(),
        last_seen: new Date(t).toISOString(),
        latest: { cpu: 0, mem: 50, timeslice: 60 },
        url: '/v1/nodes/db-1/',
      });

      const detail = await request(`${pipeline.url}/v1/nodes/db-1/`);
      expect(detail.status).toBe(200);
      // 1 minute: only the latest sample (t - 60 s is outside (T - 60, T]).
      expect(detail.body.windows['1m']).toEqual({
        timeslice: 60,
        samples: 1,
        cpu: { mean: 0, min: 0, max: 0 },
        mem: { mean: 50, min: 50, max: 50 },
      });
      // 5 minutes: minutes 0..4.
      expect(detail.body.windows['5m']).toMatchObject({ timeslice: 300, samples: 5, cpu: { mean: 2, min: 0, max: 4 } });
      expect(detail.body.windows['15m']).toMatchObject({ timeslice: 900, samples: 15, cpu: { mean: 7, min: 0, max: 14 } });
      expect(detail.body.processes).toEqual([{ name: 'postgres', last_seen: new Date(t).toISOString() }]);

      const series = await request(`${pipeline.url}/v1/nodes/db-1/series?window=600&step=60`);
      expect(series.status).toBe(200);
      expect(series.body.points).toHaveLength(10);
      expect(series.body.points.map((p: { samples: number }) => p.samples)).toEqual(Array(10).fill(1));
      expect(series.body.points[9].cpu).toBe(0);
    });

    test('the list pages across every partition in name order, each node once, with its latest sample', async () => {
      const t = baseTime();
      const name = (i: number) => `paged-${String(i).padStart(4, '0')}`;
      // Posted in reverse, so the name index (not the posting order) gives the order.
      const items = Array.from({ length: options.pagedNodes }, (_, i) => options.pagedNodes - 1 - i).map((i) => ({
        node: name(i),
        at: t,
        timeslice: 10,
        cpu: i % 100,
        mem: 1,
      }));
      const posted = await postJson(`${pipeline.url}/v1/samples`, items);
      expect(posted.status).toBe(202);
      // Every partition holds some of the names, so the pages merge several partitions' shares.
      expect(new Set(items.map((item) => partitionOf(item.node, PARTITIONS))).size).toBe(PARTITIONS);

      const seen: string[] = [];
      let pages = 0;
      let path: string | null = `/v1/nodes?prefix=paged-&limit=${PAGE}&after=${posted.body.token}`;
      while (path !== null) {
        const page = await request(`${pipeline.url}${path}`);
        expect(page.status).toBe(200);
        expect(page.body.total).toBe(options.pagedNodes);
        expect(page.body.count).toBe(page.body.nodes.length);
        for (const node of page.body.nodes) {
          const i = seen.length;
          expect(node).toMatchObject({
            name: name(i),
            latest: { cpu: i % 100, mem: 1, timeslice: 10 },
            last_seen: new Date(t).toISOString(),
          });
          seen.push(node.name);
        }
        path = page.body.next;
        pages++;
      }
      expect(seen).toHaveLength(options.pagedNodes);
      expect(pages).toBe(Math.ceil(options.pagedNodes / PAGE));
    });
  });
}

/**
 * A known fleet for the page's tests: 1,200 nodes (more than a page of the nodes table),
 * the first 50 with an hour of samples every 30 s and three processes, the last 100 not
 * seen for ten minutes (stale). Posted through the real API in batches.
 */
import { postJson, request } from './fetch-json';
import { waitUntil } from './wait-until';

export const NODE_COUNT = 1200;
export const DETAILED_NODES = 50;
export const STALE_FROM = 1101;
export const KERNEL_WORKER = 'kworker/0:1 (events)';

export const nodeName = (i: number) => `node-${String(i).padStart(4, '0')}`;

export function fleetSamples(now = Date.now()): object[] {
  const base = Math.floor(now / 1000) * 1000 - 2000;
  const items: object[] = [];
  for (let i = 1; i <= NODE_COUNT; i++) {
    const node = nodeName(i);
    if (i <= DETAILED_NODES) {
      for (let k = 0; k < 120; k++) {
        const at = base - k * 30_000;
        // A daily-looking curve per node: values differ per node and over time.
        const cpu = Math.round((35 + 25 * Math.sin((k + i) / 9) + (i % 7)) * 10) / 10;
        const mem = Math.round((55 + 10 * Math.cos((k + 2 * i) / 13)) * 10) / 10;
        items.push({ node, at, timeslice: 30, cpu, mem });
        if (k % 2 === 0) {
          items.push({ node, process: 'nginx', at, timeslice: 60, cpu_used: 20 + (i % 5) * 4, mem_used: 256 + i });
          if (i % 2 === 0) items.push({ node, process: 'postgres', at, timeslice: 60, cpu_used: 80 + (k % 10), mem_used: 2048 });
          if (i % 5 === 0) items.push({ node, process: 'redis-server', at, timeslice: 60, cpu_used: 5.5, mem_used: 512 });
          // A name with the characters a URL treats specially.
          if (i === 3) items.push({ node, process: KERNEL_WORKER, at, timeslice: 60, cpu_used: 0.5, mem_used: 0 });
        }
      }
    } else {
      const at = i >= STALE_FROM ? base - 600_000 : base - (i % 40) * 1000;
      items.push({ node, at, timeslice: 10, cpu: (i * 7) % 100, mem: 20 + ((i * 11) % 70) });
    }
  }
  return items;
}

/** Posts the items in batches and waits until the worker has applied every one. */
export async function postAndWait(url: string, items: object[], headers: Record<string, string> = {}): Promise<void> {
  for (let i = 0; i < items.length; i += 5000) {
    const answer = await postJson(`${url}/v1/samples`, items.slice(i, i + 5000), headers);
    if (answer.status !== 202) throw new Error(`posting samples answered ${answer.status}: ${JSON.stringify(answer.body)}`);
  }
  await waitUntil(async () => {
    const pipeline = await request(`${url}/v1/pipeline`, { headers });
    return pipeline.status === 200 && pipeline.body.totals.lag === 0 && pipeline.body.totals.pending === 0;
  }, 90_000);
}

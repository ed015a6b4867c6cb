// One process, fleet-wide: CPU, memory and instance count over 1 min, 5 min, 15 min and 1 h.
import { ApiError, getJson } from '../api.js';
import { h } from '../dom.js';
import { count, megabytes, percent, seconds } from '../format.js';
import { dataTable } from '../table.js';
import { WINDOWS } from './windows.js';

export function processView(name) {
  const table = dataTable({
    caption: `Fleet-wide averages of ${name}`,
    key: (r) => r.label,
    columns: [
      { label: 'Window', cell: (r) => r.label },
      { label: 'Instances', numeric: true, cell: (r) => count(r.num_instances) },
      { label: 'CPU used', numeric: true, cell: (r) => percent(r.cpu_used) },
      { label: 'Memory used', numeric: true, cell: (r) => megabytes(r.mem_used) },
      { label: 'Covers', numeric: true, cell: (r) => (r.timeslice === null ? 'no sample in this window' : seconds(r.timeslice)) },
    ],
  });
  const element = h(
    'section',
    { 'aria-labelledby': 'process-title' },
    h('p', { class: 'crumbs' }, h('a', { href: '#/processes' }, '← All processes')),
    h('h1', { id: 'process-title' }, 'Process ', h('span', { class: 'name' }, name)),
    table.element,
    h(
      'p',
      { class: 'muted' },
      'Instances are the distinct nodes that reported the process in the window. CPU used is in percent of one core.',
    ),
  );
  return {
    title: `Process ${name}`,
    element,
    intervalMs: 10_000,
    async refresh(signal) {
      const rows = await Promise.all(
        WINDOWS.map(async (w) => {
          try {
            const answer = await getJson(`/v1/analytics/processes/${encodeURIComponent(name)}/?timeslice=${w.seconds}`, { signal });
            return { label: w.label, ...answer };
          } catch (error) {
            if (!(error instanceof ApiError) || error.status !== 404) throw error;
            return { label: w.label, num_instances: null, cpu_used: null, mem_used: null, timeslice: null };
          }
        }),
      );
      table.update(rows);
    },
  };
}

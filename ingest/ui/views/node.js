// One node: its 1, 5 and 15-minute windows, a chart of its series, its processes.
import { ApiError, getJson } from '../api.js';
import { CPU_SERIES, lineChart, MEM_SERIES } from '../chart.js';
import { h, replace } from '../dom.js';
import { percent, seconds, time } from '../format.js';
import { dataTable } from '../table.js';
import { isStale } from './stale.js';

const SERIES_CHOICES = [
  { window: 900, step: 10, label: 'last 15 min (10 s points)' },
  { window: 3600, step: 60, label: 'last hour (1 min points)' },
];

export function nodeView(name) {
  const path = `/v1/nodes/${encodeURIComponent(name)}`;
  let choice = SERIES_CHOICES[0];
  const facts = h('dl', { class: 'facts' });
  const notFound = h('p', { class: 'problem', role: 'alert', hidden: true });
  const windows = dataTable({
    caption: 'Windows before the latest sample (time-weighted mean, minimum, maximum)',
    key: (w) => w.label,
    columns: [
      { label: 'Window', cell: (w) => w.label },
      { label: 'CPU mean', numeric: true, cell: (w) => percent(w.cpu.mean) },
      { label: 'CPU min', numeric: true, cell: (w) => percent(w.cpu.min) },
      { label: 'CPU max', numeric: true, cell: (w) => percent(w.cpu.max) },
      { label: 'Memory mean', numeric: true, cell: (w) => percent(w.mem.mean) },
      { label: 'Memory min', numeric: true, cell: (w) => percent(w.mem.min) },
      { label: 'Memory max', numeric: true, cell: (w) => percent(w.mem.max) },
      { label: 'Samples', numeric: true, cell: (w) => w.samples.toLocaleString() },
      { label: 'Covers', numeric: true, cell: (w) => seconds(w.timeslice) },
    ],
  });
  const processes = dataTable({
    caption: 'Processes seen on this node',
    key: (p) => p.name,
    empty: 'No process samples from this node.',
    columns: [
      { label: 'Process', sortValue: (p) => p.name, cell: (p) => h('a', { href: `#/processes/${encodeURIComponent(p.name)}` }, p.name) },
      { label: 'Last seen', sortValue: (p) => p.last_seen, cell: (p) => time(p.last_seen, { relative: true }) },
    ],
  });
  const chart = lineChart({ label: `CPU and memory of ${name}`, series: [CPU_SERIES, MEM_SERIES], yRange: [0, 100] });
  let reload = () => undefined;
  const range = h(
    'select',
    { id: 'node-series-range', onchange: (e) => ((choice = SERIES_CHOICES[Number(e.target.value)]), reload()) },
    SERIES_CHOICES.map((c, i) => h('option', { value: String(i) }, c.label)),
  );

  const element = h(
    'section',
    { 'aria-labelledby': 'node-title' },
    h('p', { class: 'crumbs' }, h('a', { href: '#/nodes' }, '← All nodes')),
    h('h1', { id: 'node-title' }, 'Node ', h('span', { class: 'name' }, name)),
    notFound,
    facts,
    h('h2', {}, 'Windows'),
    windows.element,
    h('h2', {}, 'Series'),
    h('p', { class: 'controls' }, h('label', { for: 'node-series-range' }, 'Show '), range),
    chart.element,
    h('h2', {}, 'Processes'),
    processes.element,
  );

  return {
    title: `Node ${name}`,
    element,
    intervalMs: 5000,
    setReload(fn) {
      reload = fn;
    },
    async refresh(signal) {
      let detail;
      let series;
      try {
        [detail, series] = await Promise.all([
          getJson(`${path}/`, { signal }),
          getJson(`${path}/series?window=${choice.window}&step=${choice.step}`, { signal }),
        ]);
      } catch (error) {
        if (!(error instanceof ApiError) || error.status !== 404) throw error;
        notFound.hidden = false;
        notFound.textContent = `${error.message} Nodes are kept 25 hours after their last sample.`;
        return;
      }
      notFound.hidden = true;
      const stale = isStale(detail);
      replace(
        facts,
        h(
          'div',
          {},
          h('dt', {}, 'Status'),
          h('dd', {}, stale ? h('span', { class: 'mark stale' }, '⚠ stale: no recent sample') : h('span', { class: 'mark ok' }, '✓ live')),
        ),
        h('div', {}, h('dt', {}, 'Last seen'), h('dd', {}, time(detail.last_seen, { relative: true }), ' (', time(detail.last_seen), ')')),
        h('div', {}, h('dt', {}, 'First seen'), h('dd', {}, time(detail.first_seen))),
        h('div', {}, h('dt', {}, 'Latest CPU'), h('dd', { id: 'node-latest-cpu' }, percent(detail.latest?.cpu))),
        h('div', {}, h('dt', {}, 'Latest memory'), h('dd', {}, percent(detail.latest?.mem))),
        h('div', {}, h('dt', {}, 'Sample covers'), h('dd', {}, seconds(detail.latest?.timeslice))),
      );
      windows.update(
        Object.entries(detail.windows).map(([key, w]) => ({ ...w, label: { '1m': '1 min', '5m': '5 min', '15m': '15 min' }[key] ?? key })),
      );
      processes.update(detail.processes);
      const last = series.points.findLast((p) => p.cpu !== null);
      chart.update(series.points, last ? `latest CPU ${percent(last.cpu)}, memory ${percent(last.mem)}` : 'no samples');
    },
  };
}

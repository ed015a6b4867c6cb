// Processes seen in a window, filterable, 50 to a page; each row's fleet-wide figures
// (CPU, memory, instances) are asked for the rows shown only.
import { ApiError, getJson } from '../api.js';
import { h, replace } from '../dom.js';
import { count, megabytes, percent, seconds } from '../format.js';
import { dataTable } from '../table.js';
import { windowPicker } from './windows.js';

const PAGE_SIZE = 50;
const PARALLEL = 6;

export function processesView() {
  let windowSeconds = 60;
  let page = 0;
  let names = [];
  let reload = () => undefined;
  const table = dataTable({
    caption: 'Processes, fleet-wide over the window; arrow keys move between rows',
    key: (p) => p.name,
    empty: 'No process sample in this window.',
    columns: [
      { label: 'Process', sortValue: (p) => p.name, cell: (p) => h('a', { href: `#/processes/${encodeURIComponent(p.name)}` }, p.name) },
      { label: 'Instances', numeric: true, sortValue: (p) => p.num_instances, cell: (p) => count(p.num_instances) },
      { label: 'CPU used', numeric: true, sortValue: (p) => p.cpu_used, cell: (p) => percent(p.cpu_used) },
      { label: 'Memory used', numeric: true, sortValue: (p) => p.mem_used, cell: (p) => megabytes(p.mem_used) },
      { label: 'Covers', numeric: true, sortValue: (p) => p.timeslice, cell: (p) => seconds(p.timeslice) },
    ],
  });
  const filter = h('input', {
    id: 'processes-filter',
    type: 'search',
    autocomplete: 'off',
    spellcheck: 'false',
    placeholder: 'e.g. nginx',
  });
  filter.addEventListener('input', () => ((page = 0), reload()));
  const summary = h('p', { class: 'summary', role: 'status' });
  const previous = h('button', { type: 'button', onclick: () => ((page = Math.max(0, page - 1)), reload()) }, '← Previous page');
  const next = h('button', { type: 'button', onclick: () => ((page += 1), reload()) }, 'Next page →');
  const element = h(
    'section',
    { 'aria-labelledby': 'processes-title' },
    h('h1', { id: 'processes-title' }, 'Processes'),
    windowPicker('processes-window', windowSeconds, (value) => ((windowSeconds = value), (page = 0), reload())),
    h(
      'form',
      { class: 'controls', role: 'search', onsubmit: (e) => e.preventDefault() },
      h('label', { for: 'processes-filter' }, 'Name contains'),
      filter,
    ),
    h('nav', { class: 'pager', 'aria-label': 'Pages of processes' }, previous, summary, next),
    table.element,
    h('p', { class: 'muted' }, 'CPU used is in percent of one core and memory in megabytes, time-weighted means over all instances.'),
  );

  return {
    title: 'Processes',
    element,
    intervalMs: 10_000,
    setReload(fn) {
      reload = fn;
    },
    async refresh(signal) {
      const list = await getJson(`/v1/analytics/processes?timeslice=${windowSeconds}`, { signal });
      const needle = filter.value.trim().toLowerCase();
      names = list.processes.map((p) => p.name).filter((n) => needle === '' || n.toLowerCase().includes(needle));
      const pages = Math.max(1, Math.ceil(names.length / PAGE_SIZE));
      page = Math.min(page, pages - 1);
      const shown = names.slice(page * PAGE_SIZE, (page + 1) * PAGE_SIZE);
      const rows = new Array(shown.length);
      let cursor = 0;
      const work = async () => {
        while (cursor < shown.length) {
          const i = cursor++;
          const name = shown[i];
          try {
            rows[i] = {
              name,
              ...(await getJson(`/v1/analytics/processes/${encodeURIComponent(name)}/?timeslice=${windowSeconds}`, { signal })),
            };
          } catch (error) {
            // Gone from the window between the two requests: show it without figures.
            if (!(error instanceof ApiError) || error.status !== 404) throw error;
            rows[i] = { name, num_instances: null, cpu_used: null, mem_used: null, timeslice: null };
          }
        }
      };
      await Promise.all(Array.from({ length: PARALLEL }, work));
      table.update(rows);
      replace(
        summary,
        names.length === 0
          ? 'No processes'
          : `Processes ${count(page * PAGE_SIZE + 1)}–${count(page * PAGE_SIZE + shown.length)} of ${count(names.length)}`,
      );
      previous.disabled = page === 0;
      next.disabled = page >= pages - 1;
    },
  };
}

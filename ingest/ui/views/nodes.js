// The nodes table, one page at a time through GET /v1/nodes (limit, cursor, prefix), so it
// stays fast however many nodes there are. Sorting by a column sorts the page shown.
import { getJson } from '../api.js';
import { h, replace } from '../dom.js';
import { count, percent, seconds, time } from '../format.js';
import { dataTable } from '../table.js';
import { isStale } from './stale.js';

const PAGE_SIZES = [50, 100, 500, 1000];

export function nodesView() {
  let limit = 100;
  let prefix = '';
  let pages = [firstPage()]; // URLs of the pages visited, the last one shown
  let next = null;
  let shown = 0;
  let before = 0;

  function firstPage() {
    const query = new URLSearchParams({ limit: String(limit) });
    if (prefix !== '') query.set('prefix', prefix);
    return `/v1/nodes?${query}`;
  }

  const table = dataTable({
    caption: 'Nodes, by name; arrow keys move between rows',
    key: (n) => n.name,
    empty: 'No node matches.',
    columns: [
      { label: 'Name', sortValue: (n) => n.name, cell: (n) => h('a', { href: `#/nodes/${encodeURIComponent(n.name)}` }, n.name) },
      {
        label: 'Status',
        sortValue: (n) => (isStale(n) ? 1 : 0),
        cell: (n) => (isStale(n) ? h('span', { class: 'mark stale' }, '⚠ stale') : h('span', { class: 'mark ok' }, '✓ live')),
      },
      { label: 'Last seen', sortValue: (n) => n.last_seen, cell: (n) => time(n.last_seen, { relative: true }) },
      { label: 'CPU', numeric: true, sortValue: (n) => n.latest?.cpu ?? null, cell: (n) => percent(n.latest?.cpu) },
      { label: 'Memory', numeric: true, sortValue: (n) => n.latest?.mem ?? null, cell: (n) => percent(n.latest?.mem) },
      { label: 'Sample covers', numeric: true, sortValue: (n) => n.latest?.timeslice ?? null, cell: (n) => seconds(n.latest?.timeslice) },
    ],
  });

  const summary = h('p', { id: 'nodes-summary', class: 'summary', role: 'status' }, 'Loading…');
  const previousButton = h('button', { type: 'button', id: 'nodes-previous', onclick: () => go(-1) }, '← Previous page');
  const nextButton = h('button', { type: 'button', id: 'nodes-next', onclick: () => go(1) }, 'Next page →');
  const filter = h('input', { id: 'nodes-filter', type: 'search', autocomplete: 'off', spellcheck: 'false', placeholder: 'e.g. web-' });
  const size = h(
    'select',
    { id: 'nodes-page-size' },
    PAGE_SIZES.map((n) => h('option', { value: String(n), selected: n === limit }, String(n))),
  );
  let debounce;
  filter.addEventListener('input', () => {
    clearTimeout(debounce);
    debounce = setTimeout(() => restart(), 300);
  });
  size.addEventListener('change', () => restart());

  let reload = () => undefined;
  function restart() {
    prefix = filter.value.trim();
    limit = Number(size.value);
    pages = [firstPage()];
    reload();
  }
  function go(step) {
    if (step > 0 && next) pages.push(next);
    if (step < 0 && pages.length > 1) pages.pop();
    reload();
  }

  const element = h(
    'section',
    { 'aria-labelledby': 'nodes-title' },
    h('h1', { id: 'nodes-title' }, 'Nodes'),
    h(
      'form',
      { class: 'controls', role: 'search', onsubmit: (e) => (e.preventDefault(), restart()) },
      h('label', { for: 'nodes-filter' }, 'Name starts with'),
      filter,
      h('label', { for: 'nodes-page-size' }, 'Rows per page'),
      size,
    ),
    h('nav', { class: 'pager', 'aria-label': 'Pages of nodes' }, previousButton, summary, nextButton),
    table.element,
    h(
      'p',
      { class: 'muted' },
      'Pages follow name order; a column button sorts the page shown. A node is marked stale after 2 min (or three of its timeslices) without a sample.',
    ),
  );

  return {
    title: 'Nodes',
    element,
    intervalMs: 5000,
    setReload(fn) {
      reload = fn;
    },
    async refresh(signal) {
      const page = await getJson(pages[pages.length - 1], { signal });
      // Only ever follow the API's own next page, never a URL elsewhere.
      next = typeof page.next === 'string' && page.next.startsWith('/v1/nodes?') ? page.next : null;
      shown = page.nodes.length;
      before = (pages.length - 1) * limit;
      const total = page.total ?? page.count;
      table.update(page.nodes);
      replace(
        summary,
        shown === 0
          ? `No nodes${prefix ? ` starting with “${prefix}”` : ''} (fleet: ${count(total)})`
          : prefix
            ? `Nodes ${count(before + 1)}–${count(before + shown)} starting with “${prefix}” (fleet: ${count(total)})`
            : `Nodes ${count(before + 1)}–${count(before + shown)} of ${count(total)}`,
      );
      summary.dataset.total = String(total);
      previousButton.disabled = pages.length <= 1;
      nextButton.disabled = next === null;
    },
  };
}

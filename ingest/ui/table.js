// A data table: sortable by its column buttons, arrow keys move between rows, and a
// refresh keeps the focused row focused (rows are keyed).
import { h, replace } from './dom.js';

/**
 * columns: [{ label, sortValue?(row), numeric?, cell(row) -> Node|string }]
 * key(row) -> string identifies a row across refreshes.
 */
export function dataTable({ caption, columns, key, empty = 'Nothing to show.', sortedBy = null }) {
  let rows = [];
  let sort = sortedBy; // { index, descending }
  const headerCells = columns.map((column, index) => {
    const th = h('th', { scope: 'col', class: column.numeric ? 'num' : null });
    if (column.sortValue) {
      const button = h(
        'button',
        { type: 'button', class: 'sort', onclick: () => sortBy(index) },
        column.label,
        h('span', { class: 'arrow', 'aria-hidden': 'true' }),
      );
      th.append(button);
    } else {
      th.append(column.label);
    }
    return th;
  });
  const tbody = h('tbody', { onkeydown: moveFocus });
  const captionElement = h('caption', {}, caption);
  const table = h('table', { class: 'data' }, captionElement, h('thead', {}, h('tr', {}, headerCells)), tbody);
  const element = h('div', { class: 'table-wrap' }, table);

  function sortBy(index) {
    sort = sort && sort.index === index ? { index, descending: !sort.descending } : { index, descending: false };
    render();
  }

  function sorted() {
    if (!sort) return rows;
    const value = columns[sort.index].sortValue;
    const out = [...rows].sort((a, b) => {
      const x = value(a);
      const y = value(b);
      if (x === y) return 0;
      if (x === null || x === undefined) return 1;
      if (y === null || y === undefined) return -1;
      return x < y ? -1 : 1;
    });
    return sort.descending ? out.reverse() : out;
  }

  function render() {
    headerCells.forEach((th, index) => {
      const active = sort && sort.index === index;
      if (columns[index].sortValue) {
        th.setAttribute('aria-sort', active ? (sort.descending ? 'descending' : 'ascending') : 'none');
        th.querySelector('.arrow').textContent = active ? (sort.descending ? ' ▼' : ' ▲') : ' ⇅';
      }
    });
    const focused = tbody.contains(document.activeElement) ? document.activeElement.closest('tr')?.dataset.key : undefined;
    const list = sorted();
    if (list.length === 0) {
      replace(tbody, h('tr', {}, h('td', { colspan: columns.length, class: 'muted' }, empty)));
      return;
    }
    replace(
      tbody,
      list.map((row) =>
        h(
          'tr',
          { tabindex: '-1', dataset: { key: key(row) }, class: row.rowClass ?? null },
          columns.map((column) => h('td', { class: column.numeric ? 'num' : null }, column.cell(row))),
        ),
      ),
    );
    if (focused !== undefined) {
      const again = [...tbody.rows].find((tr) => tr.dataset.key === focused);
      if (again) focusRow(again);
    }
  }

  return {
    element,
    update(next) {
      rows = next;
      render();
    },
  };
}

function focusRow(tr) {
  (tr.querySelector('a, button') ?? tr).focus();
}

/** Up/Down, Home/End move between rows; Tab still moves between the links. */
function moveFocus(event) {
  const tr = event.target.closest('tr');
  if (!tr) return;
  const rows = [...tr.parentElement.rows];
  const index = rows.indexOf(tr);
  const target = { ArrowDown: index + 1, ArrowUp: index - 1, Home: 0, End: rows.length - 1 }[event.key];
  if (target === undefined || !rows[target]) return;
  event.preventDefault();
  focusRow(rows[target]);
}

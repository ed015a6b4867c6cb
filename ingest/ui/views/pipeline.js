// The pipeline: per partition lag, pending, oldest pending age, consumers and dead letters,
// with a warning for every partition that stopped advancing.
import { h, replace } from '../dom.js';
import { count, duration, time } from '../format.js';
import { refreshPipeline, STALL_AFTER_MS } from '../pipeline-monitor.js';
import { dataTable } from '../table.js';

export function pipelineView() {
  const warning = h('div', { id: 'pipeline-warning', class: 'warning', role: 'alert', hidden: true });
  const totals = h('dl', { class: 'cards' });
  const table = dataTable({
    caption: 'Partitions; lag, pending and stream length count stream entries',
    key: (p) => String(p.partition),
    columns: [
      { label: 'Partition', sortValue: (p) => p.partition, cell: (p) => `p${p.partition}` },
      {
        label: 'State',
        sortValue: (p) => (p.health.stalled ? 0 : 1),
        cell: (p) =>
          h('span', { class: `mark ${p.health.stalled ? 'stale' : 'ok'}` }, p.health.stalled ? `⚠ ${p.health.text}` : `✓ ${p.health.text}`),
      },
      { label: 'Lag', numeric: true, sortValue: (p) => p.lag, cell: (p) => (p.lag === null ? 'unknown' : count(p.lag)) },
      { label: 'Pending', numeric: true, sortValue: (p) => p.pending, cell: (p) => count(p.pending) },
      { label: 'Oldest pending', numeric: true, sortValue: (p) => p.oldest_pending_age_ms, cell: (p) => duration(p.oldest_pending_age_ms) },
      { label: 'Stream length', numeric: true, sortValue: (p) => p.length, cell: (p) => count(p.length) },
      {
        label: 'Consumers',
        sortValue: (p) => p.consumers.length,
        cell: (p) =>
          p.consumers.length === 0
            ? 'none'
            : h(
                'ul',
                { class: 'consumers' },
                p.consumers.map((c) =>
                  h(
                    'li',
                    {},
                    h('span', { class: 'name' }, c.name),
                    h('span', { class: 'detail' }, `${count(c.pending)} pending, idle ${duration(c.idle_ms)}`),
                  ),
                ),
              ),
      },
      { label: 'Last applied', sortValue: (p) => p.last_applied, cell: (p) => time(p.last_applied, { relative: true }) },
    ],
  });
  const element = h(
    'section',
    { 'aria-labelledby': 'pipeline-title' },
    h('h1', { id: 'pipeline-title' }, 'Pipeline'),
    warning,
    totals,
    table.element,
    h(
      'p',
      { class: 'muted' },
      `Lag: entries not yet read by a worker. Pending: read, not yet applied. A partition with waiting entries is marked stalled when it has no consumer, when its position has not moved for ${STALL_AFTER_MS / 1000} s, or when an entry stays pending for a minute.`,
    ),
  );

  const entries = (n) => `${count(n)} ${n === 1 ? 'entry' : 'entries'}`;
  const card = (term, text) => h('div', { class: 'card' }, h('dt', {}, term), h('dd', {}, text));
  return {
    title: 'Pipeline',
    element,
    intervalMs: 3000,
    async refresh(signal) {
      const view = await refreshPipeline(signal);
      warning.hidden = view.stalled.length === 0;
      replace(
        warning,
        h('strong', {}, `⚠ ${view.stalled.length} of ${view.partitions.length} partitions stopped advancing.`),
        h(
          'ul',
          {},
          view.stalled.map((p) => h('li', {}, `p${p.partition}: ${p.health.text}; ${entries(p.health.backlog)} waiting.`)),
        ),
      );
      replace(
        totals,
        card('Lag (entries)', count(view.totals.lag)),
        card('Pending (entries)', count(view.totals.pending)),
        card('Oldest pending', duration(view.totals.oldest_pending_age_ms)),
        card('Consumers', count(view.totals.consumers)),
        card('Dead letters', count(view.dead_letters)),
        card('Last applied', view.last_applied ? time(view.last_applied, { relative: true }) : 'never'),
      );
      table.update(view.partitions);
    },
  };
}

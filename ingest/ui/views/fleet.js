// The fleet: time-weighted CPU and memory over a chosen window, and the last hour as a chart.
import { getJson } from '../api.js';
import { CPU_SERIES, lineChart, MEM_SERIES } from '../chart.js';
import { h, replace } from '../dom.js';
import { count, percent, seconds } from '../format.js';
import { windowPicker } from './windows.js';

export function fleetView() {
  let windowSeconds = 60;
  let abortWindow = null;
  const figures = h('dl', { class: 'cards' });
  const chart = lineChart({
    label: 'Fleet CPU and memory, last hour (1-minute points)',
    series: [CPU_SERIES, MEM_SERIES],
    yRange: [0, 100],
  });
  const picker = windowPicker('fleet-window', windowSeconds, (value) => {
    windowSeconds = value;
    abortWindow?.abort();
    abortWindow = new AbortController();
    renderAverage(abortWindow.signal).catch(() => undefined);
  });
  const element = h(
    'section',
    { 'aria-labelledby': 'fleet-title' },
    h('h1', { id: 'fleet-title' }, 'Fleet'),
    picker,
    figures,
    chart.element,
  );

  const card = (id, term, value, text, note) =>
    h(
      'div',
      { class: 'card', id },
      h('dt', {}, term),
      h('dd', { dataset: { value: value ?? '' } }, text),
      note ? h('dd', { class: 'note' }, note) : null,
    );

  let nodesTotal = null;
  async function renderAverage(signal) {
    const average = await getJson(`/v1/analytics/nodes/average?timeslice=${windowSeconds}`, { signal });
    replace(
      figures,
      card('fleet-cpu', 'CPU average', average.cpu_used, percent(average.cpu_used), 'time-weighted, all nodes'),
      card('fleet-mem', 'Memory average', average.mem_used, percent(average.mem_used), 'time-weighted, all nodes'),
      card('fleet-covers', 'Window covered', average.timeslice, seconds(average.timeslice), `of ${seconds(windowSeconds)} asked`),
      card('fleet-nodes', 'Nodes', nodesTotal, count(nodesTotal), 'retained (seen in the last 25 h)'),
    );
  }

  return {
    title: 'Fleet',
    element,
    intervalMs: 5000,
    async refresh(signal) {
      const [nodes, series] = await Promise.all([
        getJson('/v1/nodes?limit=1', { signal }),
        getJson('/v1/analytics/nodes/series?window=3600&step=60', { signal }),
      ]);
      nodesTotal = nodes.total ?? nodes.count;
      await renderAverage(signal);
      const last = series.points.findLast((p) => p.cpu !== null);
      chart.update(series.points, last ? `latest CPU ${percent(last.cpu)}, memory ${percent(last.mem)}` : 'no samples');
    },
  };
}

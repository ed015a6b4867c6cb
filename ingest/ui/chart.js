// Line charts with uPlot (vendored by the build). CPU is a solid line, memory a dashed one,
// so the chart reads without colour; the legend shows values with units.
import { h, replace } from './dom.js';

export function lineChart({ label, series, yRange }) {
  const figure = h('figure', { class: 'chart' });
  const caption = h('figcaption', {}, label);
  const plotArea = h('div', { class: 'plot', role: 'img', 'aria-label': label });
  figure.append(plotArea, caption);
  let plot = null;
  let data = null;

  const options = (width) => ({
    width,
    height: 260,
    cursor: { drag: { x: false, y: false } },
    scales: { x: { time: true }, y: yRange ? { range: yRange } : { auto: true } },
    axes: [
      { stroke: '#444', grid: { stroke: '#e4e4e4' } },
      { stroke: '#444', grid: { stroke: '#e4e4e4' }, label: series[0].unit, size: 60 },
    ],
    series: [
      { label: 'time', value: (_u, v) => (v === null || v === undefined ? '—' : new Date(v * 1000).toLocaleTimeString()) },
      ...series.map((s) => ({
        label: s.label,
        stroke: s.stroke,
        width: 2,
        dash: s.dash,
        // Points are as far apart as the node reports; join them.
        spanGaps: true,
        points: { show: true, size: 4 },
        value: (_u, v) => (v === null || v === undefined ? '—' : `${v.toFixed(1)} ${s.unit}`),
      })),
    ],
  });

  const draw = () => {
    if (typeof window.uPlot !== 'function') {
      replace(plotArea, h('p', { class: 'muted' }, 'The chart library did not load; the numbers above are complete.'));
      return;
    }
    const width = Math.max(280, plotArea.clientWidth || figure.clientWidth || 600);
    if (plot === null) {
      replace(plotArea);
      plot = new window.uPlot(options(width), data, plotArea);
    } else {
      plot.setData(data);
    }
  };

  const resize = new ResizeObserver(() => {
    if (plot !== null) plot.setSize({ width: Math.max(280, plotArea.clientWidth), height: 260 });
  });
  resize.observe(plotArea);

  return {
    element: figure,
    /** points: [{ t: ISO, <series key>: number|null }] */
    update(points, description) {
      data = [points.map((p) => Date.parse(p.t) / 1000), ...series.map((s) => points.map((p) => p[s.key]))];
      plotArea.setAttribute('aria-label', `${label}: ${description}`);
      if (points.length === 0) {
        plot?.destroy();
        plot = null;
        replace(plotArea, h('p', { class: 'muted' }, 'No samples in this window.'));
        return;
      }
      draw();
    },
  };
}

export const CPU_SERIES = { key: 'cpu', label: 'CPU', unit: '%', stroke: '#1f4e79' };
export const MEM_SERIES = { key: 'mem', label: 'Memory', unit: '%', stroke: '#b35900', dash: [8, 4] };

/** The load run's final report for people; `--json` prints the LoadReport object itself. */
import { fields, ms, num } from '../output';
import type { LoadReport } from './open-loop';

export function renderLoadReport(r: LoadReport): string {
  const s = r.samples;
  const byStatus = Object.entries(s.rejected_by_status)
    .map(([status, n]) => `${status}: ${num(n, 0)}`)
    .join(', ');
  const lines: [string, string][] = [
    [
      'target',
      `${num(r.target.rate, 0)} samples/s for ${num(r.target.duration_s)} s; ${num(r.target.nodes, 0)} nodes, ${r.target.processes} processes each, batches of ${num(r.target.batch, 0)}`,
    ],
    ['offered', `${num(s.offered, 0)} samples`],
    ['sent', `${num(s.sent, 0)} samples in ${num(r.requests.sent, 0)} requests`],
    ['accepted', `${num(s.accepted, 0)} samples (${num(s.accepted_node_samples, 0)} node, ${num(s.accepted_process_samples, 0)} process)`],
    ['rejected', `${num(s.rejected, 0)} samples${byStatus ? ` (${byStatus})` : ''}`],
    [
      'achieved',
      `${num(r.rate.achieved_per_s, 0)} samples/s accepted over ${num(r.elapsed_s)} s (offered ${num(r.rate.offered_per_s, 0)}/s)`,
    ],
    [
      'latency',
      `p50 ${ms(r.latency_ms.p50)}, p99 ${ms(r.latency_ms.p99)}, max ${ms(r.latency_ms.max)} (${num(r.latency_ms.count, 0)} requests)`,
    ],
    [
      'sent late',
      `p50 ${ms(r.sent_late_ms.p50)}, p99 ${ms(r.sent_late_ms.p99)}, max ${ms(r.sent_late_ms.max)} behind the timetable (the generator's own lateness, counted in latency)`,
    ],
    [
      'freshness',
      r.freshness_ms.count === 0 && r.freshness_ms.timeouts === 0
        ? 'not sampled'
        : `p50 ${ms(r.freshness_ms.p50)}, p99 ${ms(r.freshness_ms.p99)} from 202 to visible (${num(r.freshness_ms.count, 0)} probes` +
          `${r.freshness_ms.timeouts ? `, ${r.freshness_ms.timeouts} timed out (504)` : ''}${r.freshness_ms.errors ? `, ${r.freshness_ms.errors} failed` : ''})`,
    ],
  ];
  if (r.first_error) lines.push(['first error', r.first_error]);
  return fields(lines);
}

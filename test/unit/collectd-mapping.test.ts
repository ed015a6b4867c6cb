/** The collectd mapping of docs/AGENTS.md on its edges: readings split over POSTs, ReportByCpu, byte values, bounded work. */
import { mapValueLists, type ValueList } from '../../ingest/collectd/collectd-mapping';

const T = 1_800_000_000;

function list(
  plugin: string,
  type: string,
  typeInstance: string,
  value: number | null,
  time: number,
  extra: Partial<ValueList> = {},
): ValueList {
  return {
    values: [value],
    dstypes: ['gauge'],
    dsnames: ['value'],
    time,
    interval: 1,
    host: 'h',
    plugin,
    plugin_instance: '',
    type,
    type_instance: typeInstance,
    ...extra,
  };
}

describe('collectd mapping', () => {
  test('a reading whose memory went to another POST pairs with the next memory reading within two intervals', () => {
    const out = mapValueLists([list('cpu', 'percent', 'idle', 80, T), list('memory', 'percent', 'used', 30, T + 1.01)]);
    expect(out.candidates.map((c) => c.item)).toEqual([{ node: 'h', timeslice: 1, at: T * 1000, cpu: 20, mem: 30 }]);
  });

  test('no memory within two intervals: the CPU reading is skipped, not guessed', () => {
    const out = mapValueLists([list('cpu', 'percent', 'idle', 80, T), list('memory', 'percent', 'used', 30, T + 5)]);
    expect(out.candidates).toEqual([]);
    expect(out.skipped).toBe(2);
  });

  test('ReportByCpu true: the CPUs idle values are averaged; memory from byte values when percentages are off', () => {
    const out = mapValueLists([
      list('cpu', 'percent', 'idle', 90, T, { plugin_instance: '0' }),
      list('cpu', 'percent', 'idle', 50, T, { plugin_instance: '1' }),
      list('memory', 'memory', 'used', 2e9, T),
      list('memory', 'memory', 'free', 5e9, T),
      list('memory', 'memory', 'cached', 1e9, T),
    ]);
    expect(out.candidates.map((c) => c.item)).toEqual([{ node: 'h', timeslice: 1, at: T * 1000, cpu: 30, mem: 25 }]);
  });

  test('100,000 readings of one host pair in n log n (pairing by scanning would time out)', () => {
    const lists: ValueList[] = [];
    for (let i = 0; i < 50_000; i++) lists.push(list('cpu', 'percent', 'idle', 50, T + i), list('memory', 'percent', 'used', 25, T + i));
    expect(mapValueLists(lists).candidates).toHaveLength(50_000);
  }, 20_000);
});

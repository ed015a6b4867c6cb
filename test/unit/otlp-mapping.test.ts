/** The OTLP mapping of docs/AGENTS.md, rule by rule. */
import { mapMetricsRequest } from '../../ingest/otlp/otlp-mapping';
import { decodeMetricsRequest, encodeMetricsRequest } from '../../ingest/otlp/otlp-protocol';
import { cumulativeSum, exportRequest, gauge, resourceMetrics } from '../support/otlp-fixtures';

const T = 1_800_000_000_000;

function map(resources: Record<string, unknown>[]) {
  const request = decodeMetricsRequest(encodeMetricsRequest(exportRequest(resources)), 'protobuf', 10_000);
  return mapMetricsRequest(request, { gaugeIntervalSeconds: 60 });
}

describe('OTLP mapping', () => {
  test('k8s.node.name when host.name is absent; memory from system.memory.usage without the slab breakdown', () => {
    const { candidates, rejections } = map([
      resourceMetrics({ 'k8s.node.name': 'kube-3' }, [
        gauge('system.cpu.utilization', T, [
          { value: 0.9, attrs: { 'cpu.logical_number': 0, 'cpu.mode': 'idle' } },
          { value: 0.1, attrs: { 'cpu.logical_number': 0, 'cpu.mode': 'user' } },
        ]),
        gauge('system.memory.usage', T, [
          { value: 2e9, attrs: { 'system.memory.state': 'used' } },
          { value: 5e9, attrs: { 'system.memory.state': 'free' } },
          { value: 1e9, attrs: { 'system.memory.state': 'cached' } },
          { value: 5e8, attrs: { 'system.memory.state': 'slab_reclaimable' } },
        ]),
      ]),
    ]);
    expect(rejections).toEqual([]);
    expect(candidates).toHaveLength(1);
    expect(candidates[0]!.item).toMatchObject({ node: 'kube-3', at: T, timeslice: 60, mem: 25 });
    expect((candidates[0]!.item as { cpu: number }).cpu).toBeCloseTo(10, 9);
    expect(candidates[0]!.units).toBe(6);
  });

  test('process.command when process.executable.name is absent; CPU count from system.cpu.logical.count', () => {
    const { candidates } = map([
      resourceMetrics({ 'host.name': 'h1' }, [gauge('system.cpu.logical.count', T, [{ value: 4 }])]),
      resourceMetrics({ 'host.name': 'h1', 'process.command': '/usr/bin/python3' }, [
        gauge('process.cpu.utilization', T, [{ value: 0.125, attrs: { state: 'user' } }]),
        gauge('process.memory.usage', T, [{ value: 3 * 1048576 }]),
      ]),
    ]);
    expect(candidates.map((c) => c.item)).toEqual([
      { node: 'h1', process: '/usr/bin/python3', at: T, timeslice: 60, cpu_used: 50, mem_used: 3 },
    ]);
  });

  test('an attribute sent twice counts with its last scalar value; values of other kinds are passed over', () => {
    const node = resourceMetrics({ 'host.name': 'first-name' }, [
      gauge('system.cpu.utilization', T, [
        { value: 0.75, attrs: { cpu: 'cpu0', state: 'idle' } },
        { value: 0.25, attrs: { cpu: 'cpu0', state: 'user' } },
      ]),
      gauge('system.memory.utilization', T, [{ value: 0.5, attrs: { state: 'used' } }]),
    ]) as { resource: { attributes: unknown[] }; scopeMetrics: { metrics: { gauge: { dataPoints: { attributes: unknown[] }[] } }[] }[] };
    node.resource.attributes.push(
      { key: 'host.name', value: { stringValue: 'last-name' } },
      { key: 'host.name', value: { arrayValue: { values: [{ stringValue: 'not-a-name' }] } } },
    );
    // The idle point says "user" last: only the user point of cpu0 is idle now.
    const [idle, user] = node.scopeMetrics[0]!.metrics[0]!.gauge.dataPoints;
    idle!.attributes.push({ key: 'state', value: { stringValue: 'user' } });
    user!.attributes.push({ key: 'state', value: { stringValue: 'idle' } }, { key: 'state', value: { kvlistValue: { values: [] } } });
    const { candidates, rejections } = map([node]);
    expect(rejections).toEqual([]);
    expect(candidates).toHaveLength(1);
    expect(candidates[0]!.item).toMatchObject({ node: 'last-name', mem: 50 });
    expect((candidates[0]!.item as { cpu: number }).cpu).toBeCloseTo(75, 9);
  });

  test('a delta sum takes its own interval as timeslice', () => {
    const request = decodeMetricsRequest(
      encodeMetricsRequest(
        exportRequest([
          resourceMetrics({ 'host.name': 'h2' }, [
            {
              name: 'system.cpu.utilization',
              sum: {
                aggregationTemporality: 1,
                dataPoints: [
                  {
                    startTimeUnixNano: `${(T - 15_000) * 1e6}`,
                    timeUnixNano: `${T * 1e6}`,
                    asDouble: 0.5,
                    attributes: [{ key: 'state', value: { stringValue: 'idle' } }],
                  },
                ],
              },
            },
            gauge('system.memory.utilization', T, [{ value: 0.5, attrs: { state: 'used' } }]),
          ]),
        ]),
      ),
      'protobuf',
      100,
    );
    const { candidates } = mapMetricsRequest(request, { gaugeIntervalSeconds: 60 });
    expect(candidates[0]!.item).toMatchObject({ node: 'h2', timeslice: 15, cpu: 50, mem: 50 });
  });

  test('process.cpu.utilization without the host CPU count is rejected with what to send', () => {
    const { candidates, rejections } = map([
      resourceMetrics({ 'host.name': 'h3', 'process.executable.name': 'java' }, [
        gauge('process.cpu.utilization', T, [{ value: 0.1 }]),
        gauge('process.memory.usage', T, [{ value: 1 }]),
        cumulativeSum('process.cpu.time', T, [{ value: 1 }], T - 1000),
      ]),
    ]);
    expect(candidates).toEqual([]);
    expect(rejections).toEqual([{ units: 2, reason: expect.stringContaining('send system.cpu.utilization or system.cpu.logical.count') }]);
  });
});

describe('bounded work', () => {
  // Pairing is by binary search: 100,000 readings each of CPU and memory take well under a second;
  // pairing by scanning would take minutes and fail the test by its timeout.
  test('an export with 100,000 CPU and 100,000 memory readings of one host maps in n log n', () => {
    const readings = 100_000;
    const dataPoints = (share: number, attrs: Record<string, string>) =>
      Array.from({ length: readings }, (_, i) => ({
        timeUnixNano: (T + i * 1000) * 1e6,
        asDouble: share,
        attributes: Object.entries(attrs).map(([key, value]) => ({ key, value: { stringValue: value } })),
      }));
    const request = {
      resourceMetrics: [
        {
          resource: { attributes: [{ key: 'host.name', value: { stringValue: 'big' } }] },
          scopeMetrics: [
            {
              metrics: [
                { name: 'system.cpu.utilization', gauge: { dataPoints: dataPoints(0.5, { state: 'idle' }) } },
                { name: 'system.memory.utilization', gauge: { dataPoints: dataPoints(0.25, { state: 'used' }) } },
              ],
            },
          ],
        },
      ],
    };
    const { candidates } = mapMetricsRequest(request, { gaugeIntervalSeconds: 1 });
    expect(candidates).toHaveLength(readings);
    expect(candidates[readings - 1]!.item).toMatchObject({ at: T + (readings - 1) * 1000, cpu: 50, mem: 25 });
  }, 20_000);
});

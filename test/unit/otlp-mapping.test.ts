/** The OTLP mapping of docs/AGENTS.md, rule by rule. */
import { mapMetricsRequest, OtlpMapper } from '../../ingest/otlp/otlp-mapping';
import { decodeMetricsRequest, encodeMetricsRequest, visitResourceMetrics } from '../../ingest/otlp/otlp-protocol';
import type { OtlpResourceMetrics } from '../../ingest/otlp/otlp-types';
import { BadRequestError, PayloadTooLargeError } from '../../shared/errors';
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

describe('resource by resource', () => {
  const host = (node: string, cpus: number) =>
    resourceMetrics({ 'host.name': node }, [
      gauge(
        'system.cpu.utilization',
        T,
        Array.from({ length: cpus }, (_, cpu) => ({ value: 0.5, attrs: { cpu: `cpu${cpu}`, state: 'idle' } })),
      ),
      gauge('system.memory.utilization', T, [{ value: 0.25, attrs: { state: 'used' } }]),
    ]);
  const process = (node: string, name: string) =>
    resourceMetrics({ 'host.name': node, 'process.executable.name': name }, [
      gauge('process.cpu.utilization', T, [{ value: 0.125 }]),
      gauge('process.memory.usage', T, [{ value: 1048576 }]),
    ]);

  test("a process resource before its host's takes the host's CPU count; samples and rejections keep the export's order", () => {
    const { candidates, rejections } = map([
      process('h1', 'nginx'),
      resourceMetrics({ 'service.name': 'no-host' }, [gauge('system.cpu.utilization', T, [{ value: 1, attrs: { state: 'idle' } }])]),
      host('h1', 2),
      process('h2', 'java'),
      host('h2', 4),
      process('h1', 'nginx'),
    ]);
    expect(candidates.map((c) => c.item)).toEqual([
      { node: 'h1', process: 'nginx', at: T, timeslice: 60, cpu_used: 50, mem_used: 2 },
      { node: 'h1', timeslice: 60, at: T, cpu: 50, mem: 25 },
      { node: 'h2', process: 'java', at: T, timeslice: 60, cpu_used: 50, mem_used: 1 },
      { node: 'h2', timeslice: 60, at: T, cpu: 50, mem: 25 },
    ]);
    expect(rejections).toEqual([{ units: 1, reason: expect.stringContaining('neither host.name nor k8s.node.name') }]);
  });

  test("a node's 2,000 process resources before its host resource all take the host's CPU count", () => {
    const processes = Array.from({ length: 2000 }, (_, i) => process('big-host', `proc-${i}`));
    const { candidates, rejections } = map([...processes, host('big-host', 8)]);
    expect(rejections).toEqual([]);
    expect(candidates).toHaveLength(2001);
    expect(candidates[1999]!.item).toEqual({ node: 'big-host', process: 'proc-1999', at: T, timeslice: 60, cpu_used: 100, mem_used: 1 });
    expect(candidates[2000]!.item).toMatchObject({ node: 'big-host', cpu: 50, mem: 25 });
  });

  test('the mapper fed as the protobuf is decoded gives what a mapping of the whole request gives', () => {
    const resources = [process('h1', 'a'), host('h1', 2), process('h1', 'b'), process('h9', 'orphan'), host('h2', 1)];
    const body = encodeMetricsRequest(exportRequest(resources));
    const mapper = new OtlpMapper({ gaugeIntervalSeconds: 60 });
    visitResourceMetrics(body, 'protobuf', 10_000, (rm) => mapper.add(rm));
    expect(mapper.finish()).toEqual(mapMetricsRequest(exportRequest(resources) as never, { gaugeIntervalSeconds: 60 }));
  });

  test('fields other than resource_metrics are skipped, as a protobuf parser must', () => {
    const body = encodeMetricsRequest(exportRequest([host('h1', 1)]));
    // Field 15 as a varint, and field 14 as bytes, around the resource.
    const unknown = Buffer.concat([Buffer.from([0x78, 0x96, 0x01]), body, Buffer.from([0x72, 0x02, 0x61, 0x62])]);
    const visited: OtlpResourceMetrics[] = [];
    visitResourceMetrics(unknown, 'protobuf', 10_000, (rm) => visited.push(rm));
    expect(visited).toHaveLength(1);
  });

  test('resource_metrics with a wire type other than length-delimited is refused', () => {
    // Field 1 as a varint.
    expect(() => visitResourceMetrics(Buffer.from([0x08, 0x05]), 'protobuf', 10_000, () => undefined)).toThrow(BadRequestError);
  });

  test('a body that breaks off after whole resources is refused after visiting them: the caller keeps nothing of it', () => {
    const body = encodeMetricsRequest(exportRequest([host('h1', 1), host('h2', 1)]));
    const visited: OtlpResourceMetrics[] = [];
    const attempt = () => visitResourceMetrics(body.subarray(0, body.length - 3), 'protobuf', 10_000, (rm) => visited.push(rm));
    expect(attempt).toThrow(BadRequestError);
    expect(attempt).toThrow(/not an OTLP ExportMetricsServiceRequest/);
    expect(visited.length).toBeGreaterThan(0);
  });

  test("a failure of the visit is not reported as the body's fault", () => {
    const body = encodeMetricsRequest(exportRequest([host('h1', 1)]));
    const failing = () => {
      throw new TypeError('a bug in the mapping');
    };
    expect(() => visitResourceMetrics(body, 'protobuf', 10_000, failing)).toThrow(TypeError);
  });

  test('the bound on resources, metrics and points stops the decode at the resource that passes it', () => {
    const body = encodeMetricsRequest(exportRequest(Array.from({ length: 10 }, (_, i) => host(`h${i}`, 1))));
    let visited = 0;
    // Each host has 2 points: the third resource passes 5.
    expect(() => visitResourceMetrics(body, 'protobuf', 5, () => visited++)).toThrow(PayloadTooLargeError);
    expect(visited).toBe(2);
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

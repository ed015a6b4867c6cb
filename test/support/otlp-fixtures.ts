/** OTLP/JSON export requests shaped as the Collector's hostmetrics receiver sends them. */

type Attr = Record<string, string | number>;

function attributes(attrs: Attr): { key: string; value: Record<string, unknown> }[] {
  return Object.entries(attrs).map(([key, value]) => ({
    key,
    value:
      typeof value === 'string' ? { stringValue: value } : Number.isInteger(value) ? { intValue: String(value) } : { doubleValue: value },
  }));
}

const nanos = (ms: number) => `${BigInt(Math.round(ms)) * 1_000_000n}`;

export interface GaugePoint {
  value: number;
  attrs?: Attr;
}

export function gauge(name: string, timeMs: number, points: GaugePoint[], startMs?: number): Record<string, unknown> {
  return {
    name,
    gauge: {
      dataPoints: points.map((p) => ({
        attributes: attributes(p.attrs ?? {}),
        timeUnixNano: nanos(timeMs),
        ...(startMs === undefined ? {} : { startTimeUnixNano: nanos(startMs) }),
        asDouble: p.value,
      })),
    },
  };
}

export function cumulativeSum(name: string, timeMs: number, points: GaugePoint[], startMs: number): Record<string, unknown> {
  return {
    name,
    sum: {
      aggregationTemporality: 2,
      isMonotonic: true,
      dataPoints: points.map((p) => ({
        attributes: attributes(p.attrs ?? {}),
        startTimeUnixNano: nanos(startMs),
        timeUnixNano: nanos(timeMs),
        asDouble: p.value,
      })),
    },
  };
}

export function resourceMetrics(resource: Attr, metrics: Record<string, unknown>[]): Record<string, unknown> {
  return { resource: { attributes: attributes(resource) }, scopeMetrics: [{ scope: { name: 'test' }, metrics }] };
}

export interface HostReading {
  node: string;
  timeMs: number;
  /** Idle share per CPU (0..1); the rest is split between user and system. */
  idle: number[];
  memUsedShare: number;
}

/** system.cpu.utilization per CPU and state, system.memory.utilization: the hostmetrics receiver with utilization enabled. */
export function hostResource(r: HostReading): Record<string, unknown> {
  const cpuPoints: GaugePoint[] = [];
  r.idle.forEach((idle, i) => {
    for (const [state, value] of [
      ['idle', idle],
      ['user', (1 - idle) * 0.75],
      ['system', (1 - idle) * 0.25],
    ] as const) {
      cpuPoints.push({ value, attrs: { cpu: `cpu${i}`, state } });
    }
  });
  return resourceMetrics({ 'host.name': r.node, 'os.type': 'linux' }, [
    gauge('system.cpu.utilization', r.timeMs, cpuPoints, r.timeMs - 3_600_000),
    gauge('system.memory.utilization', r.timeMs, [
      { value: r.memUsedShare, attrs: { state: 'used' } },
      { value: 1 - r.memUsedShare, attrs: { state: 'free' } },
    ]),
    gauge('system.memory.usage', r.timeMs, [
      { value: r.memUsedShare * 8e9, attrs: { state: 'used' } },
      { value: (1 - r.memUsedShare) * 8e9, attrs: { state: 'free' } },
    ]),
  ]);
}

export interface ProcessReading {
  node: string;
  name: string;
  pid: number;
  timeMs: number;
  /** Share of all CPUs, user and system. */
  user: number;
  system: number;
  rssBytes: number;
}

export function processResource(p: ProcessReading): Record<string, unknown> {
  return resourceMetrics({ 'host.name': p.node, 'process.pid': p.pid, 'process.executable.name': p.name }, [
    gauge('process.cpu.utilization', p.timeMs, [
      { value: p.user, attrs: { state: 'user' } },
      { value: p.system, attrs: { state: 'system' } },
    ]),
    {
      name: 'process.memory.usage',
      sum: { aggregationTemporality: 2, dataPoints: [{ timeUnixNano: nanos(p.timeMs), asInt: String(p.rssBytes) }] },
    },
  ]);
}

export function exportRequest(resources: Record<string, unknown>[]): Record<string, unknown> {
  return { resourceMetrics: resources };
}

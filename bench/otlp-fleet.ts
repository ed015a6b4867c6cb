/**
 * OTLP protobuf exports of a synthetic fleet, encoded once before the phase (as the JSON batches
 * are built once): per node, the hostmetrics receiver's resources with the utilization metrics
 * enabled (one for the host, one per process), so each node gives one node and 5 process samples.
 */
import { encodeMetricsRequest } from '../ingest/otlp/otlp-protocol';
import { fleetProcessNames } from '../cli/load/synthetic-fleet';

const CPUS = 2;

function attrs(values: Record<string, string | number>) {
  return Object.entries(values).map(([key, value]) => ({
    key,
    value: typeof value === 'string' ? { stringValue: value } : { intValue: value },
  }));
}

function gauge(name: string, timeNanos: string, points: [number, Record<string, string | number>][]) {
  return { name, gauge: { dataPoints: points.map(([value, a]) => ({ attributes: attrs(a), timeUnixNano: timeNanos, asDouble: value })) } };
}

export interface OtlpExport {
  body: Buffer;
  samples: number;
  nodeSamples: number;
  points: number;
}

export class OtlpFleet {
  readonly exports: OtlpExport[] = [];
  private cursor = 0;

  /** `count` distinct exports of `nodesPerExport` nodes each (node names `<prefix>-<i>`). */
  constructor(options: { prefix: string; nodesPerExport: number; processes: number; count: number }) {
    const names = fleetProcessNames(options.processes);
    const timeNanos = `${BigInt(Date.now()) * 1_000_000n}`;
    for (let e = 0; e < options.count; e++) {
      const resourceMetrics: unknown[] = [];
      let points = 0;
      for (let n = 0; n < options.nodesPerExport; n++) {
        const node = `${options.prefix}-${e * options.nodesPerExport + n}`;
        const cpu: [number, Record<string, string | number>][] = [];
        for (let c = 0; c < CPUS; c++) {
          const idle = Math.random();
          cpu.push([idle, { cpu: `cpu${c}`, state: 'idle' }], [(1 - idle) * 0.7, { cpu: `cpu${c}`, state: 'user' }]);
          cpu.push([(1 - idle) * 0.2, { cpu: `cpu${c}`, state: 'system' }], [(1 - idle) * 0.1, { cpu: `cpu${c}`, state: 'wait' }]);
        }
        const used = Math.random();
        resourceMetrics.push({
          resource: { attributes: attrs({ 'host.name': node, 'os.type': 'linux' }) },
          scopeMetrics: [
            {
              metrics: [
                gauge('system.cpu.utilization', timeNanos, cpu),
                gauge('system.memory.utilization', timeNanos, [
                  [used, { state: 'used' }],
                  [1 - used, { state: 'free' }],
                ]),
              ],
            },
          ],
        });
        points += cpu.length + 2;
        for (let p = 0; p < options.processes; p++) {
          resourceMetrics.push({
            resource: {
              attributes: attrs({ 'host.name': node, 'process.pid': 1000 + p, 'process.executable.name': names[(n + p) % names.length]! }),
            },
            scopeMetrics: [
              {
                metrics: [
                  gauge('process.cpu.utilization', timeNanos, [
                    [Math.random() * 0.3, { state: 'user' }],
                    [Math.random() * 0.1, { state: 'system' }],
                  ]),
                  gauge('process.memory.usage', timeNanos, [[Math.round(Math.random() * 2e9), {}]]),
                ],
              },
            ],
          });
          points += 3;
        }
      }
      this.exports.push({
        body: encodeMetricsRequest({ resourceMetrics }),
        samples: options.nodesPerExport * (1 + options.processes),
        nodeSamples: options.nodesPerExport,
        points,
      });
    }
  }

  next(): OtlpExport {
    const e = this.exports[this.cursor % this.exports.length]!;
    this.cursor++;
    return e;
  }
}

/** Idempotency-Keys run on across loops (a warm-up, then the phase): a key used again with another export would be a 422. */
let nextKey = 0;

export interface OtlpLoopResult {
  accepted: number;
  acceptedNode: number;
  points: number;
  requests: number;
  statuses: Record<string, number>;
}

/**
 * `concurrency` senders posting the exports back to back, as an OTLP exporter would. Each request
 * carries its own Idempotency-Key, so a body sent again from the pool counts again.
 */
export async function otlpClosedLoop(
  url: string,
  fleet: OtlpFleet,
  options: { concurrency: number; seconds: number; token: string },
): Promise<OtlpLoopResult> {
  const result: OtlpLoopResult = { accepted: 0, acceptedNode: 0, points: 0, requests: 0, statuses: {} };
  const end = performance.now() + options.seconds * 1000;
  const sender = async () => {
    while (performance.now() < end) {
      const e = fleet.next();
      const response = await fetch(`${url}/otlp/v1/metrics`, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-protobuf',
          'idempotency-key': `bench-otlp-${nextKey++}`,
          authorization: `Bearer ${options.token}`,
        },
        body: e.body,
      });
      const answer = await response.arrayBuffer();
      result.requests += 1;
      result.statuses[response.status] = (result.statuses[response.status] ?? 0) + 1;
      // An empty answer is full success; a partial_success would mean the fleet is built wrong.
      if (response.status === 200 && answer.byteLength === 0) {
        result.accepted += e.samples;
        result.acceptedNode += e.nodeSamples;
        result.points += e.points;
      } else if (response.status === 503) await new Promise((r) => setTimeout(r, 50));
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, sender));
  return result;
}

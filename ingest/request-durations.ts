/**
 * nodeagg_http_request_duration_seconds for the price of a few array increments per request.
 * prom-client's Histogram.observe() costs about a microsecond (it hashes the label object and
 * keys its buckets by the bound's decimal text); this records into a per-series array found by
 * the route's template, and exports exactly the series a Histogram with the same buckets would.
 */
import { Histogram, type LabelValues, type Registry } from 'prom-client';

type RequestLabel = 'method' | 'route' | 'status';

interface Series {
  method: string;
  status: number;
  labels: LabelValues<RequestLabel>;
  /** Observations per bucket (not cumulative); the last slot is above every bound. */
  counts: number[];
  sum: number;
  count: number;
}

/** What prom-client's registry reads from a histogram: one value line each. */
interface ExportedValue {
  labels: Record<string, string | number>;
  sharedLabels: LabelValues<RequestLabel>;
  value: number;
  metricName: string;
  /** As a Histogram without exemplars: null on bucket lines, undefined on _sum and _count. */
  exemplar: null | undefined;
}

export class RequestDurations extends Histogram<RequestLabel> {
  private readonly bounds: readonly number[];
  /** Every series, in the order first seen (a Histogram exports them so). */
  private readonly series: Series[] = [];
  /**
   * The series of each route template, found by the template itself: the same string on every
   * request, whose hash V8 keeps. A key built per request ("POST 202 /v1/…") had to be joined
   * and hashed anew each time: about 2,000 instructions of a single POST's 145,000.
   */
  private readonly byRoute = new Map<string, Series[]>();

  constructor(private readonly config: { name: string; help: string; buckets: number[]; registers: Registry[] }) {
    super({ ...config, labelNames: ['method', 'route', 'status'] });
    this.bounds = [...config.buckets];
  }

  record(method: string, route: string, status: number, seconds: number): void {
    let ofRoute = this.byRoute.get(route);
    if (ofRoute === undefined) this.byRoute.set(route, (ofRoute = []));
    let series: Series | undefined;
    for (const candidate of ofRoute) if (candidate.status === status && candidate.method === method) series = candidate;
    if (series === undefined) {
      series = {
        method,
        status,
        labels: { method, route, status: String(status) },
        counts: new Array<number>(this.bounds.length + 1).fill(0),
        sum: 0,
        count: 0,
      };
      ofRoute.push(series);
      this.series.push(series);
    }
    let bucket = 0;
    while (bucket < this.bounds.length && seconds > this.bounds[bucket]!) bucket++;
    series.counts[bucket]!++;
    series.sum += seconds;
    series.count++;
  }

  override reset(): void {
    super.reset();
    // The base constructor resets before this class's fields exist.
    if (this.series) this.series.length = 0;
    this.byRoute?.clear();
  }

  /** The registry's text export reads this (as it would a Histogram's). */
  async getForPromString(): Promise<{ name: string; help: string; type: 'histogram'; values: ExportedValue[]; aggregator: 'sum' }> {
    const bucketName = `${this.config.name}_bucket`;
    const values: ExportedValue[] = [];
    const line = (labels: Record<string, string | number>, value: number, metricName: string, series: Series) =>
      values.push({ labels, sharedLabels: series.labels, value, metricName, exemplar: metricName === bucketName ? null : undefined });
    for (const series of this.series) {
      let cumulative = 0;
      this.bounds.forEach((le, i) => line({ le }, (cumulative += series.counts[i]!), bucketName, series));
      line({ le: '+Inf' }, series.count, bucketName, series);
      line({}, series.sum, `${this.config.name}_sum`, series);
      line({}, series.count, `${this.config.name}_count`, series);
    }
    return Promise.resolve({ name: this.config.name, help: this.config.help, type: 'histogram', values, aggregator: 'sum' });
  }

  /** The JSON export (registry.getMetricsAsJSON), with each line's labels merged as a Histogram's are. */
  override async get() {
    const exported = await this.getForPromString();
    const values = exported.values.map(({ labels, sharedLabels, value, metricName, exemplar }) => ({
      labels: { ...labels, ...sharedLabels },
      value,
      metricName,
      exemplar,
    }));
    return { ...(await super.get()), values };
  }
}

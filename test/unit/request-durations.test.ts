/** The request-duration recorder exports exactly what a prom-client Histogram with the same observations would. */
import fc from 'fast-check';
import { Histogram, Registry } from 'prom-client';
import { RequestDurations } from '../../ingest/request-durations';

const NAME = 'nodeagg_http_request_duration_seconds';
const HELP = 'HTTP request duration by route and status.';
const BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5];

const observation = fc.record({
  method: fc.constantFrom('GET', 'POST', 'HEAD'),
  route: fc.constantFrom('/v1/metrics/node/:nodename', '/v1/samples', 'unmatched', 'a "quoted" \\ route'),
  status: fc.constantFrom(200, 202, 400, 503),
  // Every bound itself, around it, and far beyond the last.
  seconds: fc.oneof(fc.constantFrom(0, ...BUCKETS, 5.000001, 1e6), fc.double({ min: 0, max: 10, noNaN: true })),
});

function both() {
  const stock = new Registry();
  const ours = new Registry();
  const histogram = new Histogram({
    name: NAME,
    help: HELP,
    labelNames: ['method', 'route', 'status'],
    buckets: BUCKETS,
    registers: [stock],
  });
  const durations = new RequestDurations({ name: NAME, help: HELP, buckets: BUCKETS, registers: [ours] });
  return { stock, ours, histogram, durations };
}

test('any observations give the same text and JSON exports as a Histogram', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(observation, { maxLength: 50 }), async (observations) => {
      const { stock, ours, histogram, durations } = both();
      for (const { method, route, status, seconds } of observations) {
        histogram.observe({ method, route, status: String(status) }, seconds);
        durations.record(method, route, status, seconds);
      }
      expect(await ours.metrics()).toBe(await stock.metrics());
      expect(await ours.getMetricsAsJSON()).toEqual(await stock.getMetricsAsJSON());
    }),
    { numRuns: 300 },
  );
});

test('reset forgets every series, as a Histogram does', async () => {
  const { stock, ours, histogram, durations } = both();
  histogram.observe({ method: 'POST', route: '/v1/samples', status: '202' }, 0.01);
  durations.record('POST', '/v1/samples', 202, 0.01);
  histogram.reset();
  durations.reset();
  expect(await ours.metrics()).toBe(await stock.metrics());
});

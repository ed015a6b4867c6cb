/** Prometheus gauges of the pipeline, from the figures the maintenance job recorded (one GET per scrape). */
import { Gauge, type Registry } from 'prom-client';
import { readRecordedFigures, type PipelineFigures } from './store/recorded-figures';
import type { RedisClient } from './redis';

type Partition = PipelineFigures['partitions'][number];

export function registerPipelineGauges(registry: Registry, redis: RedisClient, prefix: string): void {
  // Every gauge's collect awaits the same read, so one scrape costs one GET.
  let pending: { at: number; figures: Promise<PipelineFigures | null> } | undefined;
  const figures = () => {
    if (!pending || Date.now() - pending.at > 500) {
      pending = {
        at: Date.now(),
        figures: readRecordedFigures(redis, prefix).catch(() => null),
      };
    }
    return pending.figures;
  };

  const perPartition = (name: string, help: string, value: (p: Partition) => number) =>
    new Gauge({
      name,
      help,
      labelNames: ['partition'],
      registers: [registry],
      async collect() {
        const recorded = await figures();
        for (const p of recorded?.partitions ?? []) this.set({ partition: String(p.partition) }, value(p));
      },
    });
  perPartition('nodeagg_stream_length', 'Entries in the partition stream.', (p) => p.length);
  perPartition('nodeagg_stream_lag', 'Entries not yet delivered to the consumer group.', (p) => p.lag);
  perPartition('nodeagg_stream_pending', 'Entries delivered but not yet acknowledged.', (p) => p.pending);
  perPartition(
    'nodeagg_oldest_pending_age_seconds',
    'Age of the oldest pending entry (0 when none).',
    (p) => (p.oldest_pending_age_ms ?? 0) / 1000,
  );
  perPartition(
    'nodeagg_partition_stalled',
    '1 when the partition holds a pending entry that has stayed its oldest for PARTITION_STALL_AFTER_MS (not advancing).',
    (p) => (p.stalled ? 1 : 0),
  );
  perPartition(
    'nodeagg_node_seconds_hash_fields',
    "Fields of the partition's node-seconds hash of the last complete minute (nodes x samples per minute): the largest key a slot move migrates whole.",
    (p) => p.node_seconds_fields ?? 0,
  );
  new Gauge({
    name: 'nodeagg_dead_letters',
    help: 'Entries waiting in the dead-letter queue.',
    registers: [registry],
    async collect() {
      const recorded = await figures();
      if (recorded) this.set(recorded.dead_letters);
    },
  });
  new Gauge({
    name: 'nodeagg_pipeline_figures_age_seconds',
    help: 'Seconds since the maintenance job recorded the pipeline figures.',
    registers: [registry],
    async collect() {
      const recorded = await figures();
      if (recorded) this.set((Date.now() - Date.parse(recorded.recorded_at)) / 1000);
    },
  });
}

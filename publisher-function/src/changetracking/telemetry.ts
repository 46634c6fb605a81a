// OpenTelemetry instruments of the change-tracking source: the outbox publisher's own (same names, so dashboards and
// alerts cover both sources) plus a resync counter to alert on.
import { metrics as otelMetrics, type Meter } from '@opentelemetry/api';
import { createOtelMetrics } from '../telemetry';
import type { ChangeTrackingMetrics } from './core/ports';

export const ChangeTrackingMetricNames = {
  resyncs: 'outbox.changetracking.resyncs',
  checkpoints: 'outbox.changetracking.checkpoints',
} as const;

export function createOtelChangeTrackingMetrics(meter: Meter = otelMetrics.getMeter('dataverse-outbox-publisher')): ChangeTrackingMetrics {
  const base = createOtelMetrics(meter);
  const resyncs = meter.createCounter(ChangeTrackingMetricNames.resyncs, { description: 'Full re-reads of a tracked table after its delta token was refused (alert on any)' });
  const checkpoints = meter.createCounter(ChangeTrackingMetricNames.checkpoints, { description: 'Delta tokens saved after their messages were sent' });
  return {
    ...base,
    resync: (source, reason) => resyncs.add(1, { source, reason }),
    checkpointed: (source) => checkpoints.add(1, { source }),
  };
}

// Trace context for change-tracking messages. A change has no producer context to continue (nobody wrote an outbox row
// with obx_tracecontext), so each change's send starts a trace of its own: a root PRODUCER span made by the outbox
// path's startMessageSpan (core/tracing.ts), whose context the message carries in Diagnostic-Id and traceparent.
// A re-read of the same change (crash before the checkpoint, resync) is a new send, hence a new trace.
import type { Attributes } from '@opentelemetry/api';
import { startMessageSpan, type SendSpan } from '../../core/tracing';
import type { ChangeTrackingSourceConfig } from './config';
import { changeMessageId, type TrackedChange } from './mapping';

/** Span attributes of a change's send (besides the messaging ones): what a trace search finds the change by. */
export const ChangeSpanAttributes = {
  /** The configured source name. */
  source: 'outbox.change.source',
  /** The table's logical name. */
  table: 'outbox.change.table',
  /** The record id. */
  rowId: 'outbox.change.row_id',
  /** `changed` or `deleted`. */
  kind: 'outbox.change.kind',
  /** The row version (versionnumber); absent for deletions. */
  version: 'outbox.change.version',
  /** Set on the id-only stand-in of a row too large for a message: why its columns were left out. */
  omitted: 'outbox.change.omitted',
} as const;

/**
 * Starts the send span of one change's message. `parent`: only for the id-only stand-in of a row too large for a message,
 * which continues the trace of the refused send (same change, same trace); every other change starts a new trace.
 */
export function startChangeSpan(source: ChangeTrackingSourceConfig, change: TrackedChange, parent?: { traceParent: string; omitted: string }): SendSpan {
  const attributes: Attributes = {
    [ChangeSpanAttributes.source]: source.name,
    [ChangeSpanAttributes.table]: source.table,
    [ChangeSpanAttributes.rowId]: change.id,
    [ChangeSpanAttributes.kind]: change.kind,
  };
  if (change.kind === 'changed') attributes[ChangeSpanAttributes.version] = change.version;
  if (parent) attributes[ChangeSpanAttributes.omitted] = parent.omitted;
  return startMessageSpan({ target: source.target, messageId: changeMessageId(source.table, change), parent: parent?.traceParent, attributes });
}

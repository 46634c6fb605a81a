// A tracked change (new/updated row or deletion) -> the Service Bus message. Pure. The messageId is derived from the
// table, the row id and the row version, so reading the same delta again (crash before checkpoint, resync) yields the
// same ids and Service Bus duplicate detection drops the copies.
import { createHash } from 'node:crypto';
import { CloudEvents, cloudEventSource, MessageFormat, MessageProperties, type CloudEventAttributes, type MessageFormatName } from '@dataverse-outbox/contract';
import { DEFAULT_CONTENT_TYPE, inMessageFormat, traceApplicationProperties, type OutboundMessage } from '../../core/mapping';
import type { ChangeTrackingSourceConfig } from './config';

/** Application properties added by change-tracking sources (besides the spec's `outbox-message-id`, `source-entity`, `source-id`). */
export const ChangeTrackingProperties = {
  /** `changed` (created or updated: Dataverse does not tell them apart) or `deleted`. */
  changeKind: 'change-kind',
  /** The configured source name. */
  changeSource: 'change-source',
  /** The row version (Dataverse versionnumber, the ETag's number) the body reflects; absent for deletions. */
  changeVersion: 'change-version',
} as const;

export type ChangeKind = 'changed' | 'deleted';

/** One entry of a delta (or of the initial synchronisation). */
export type TrackedChange =
  | { kind: 'changed'; id: string; version: string; record: Readonly<Record<string, unknown>>; modifiedOn?: Date }
  | { kind: 'deleted'; id: string };

/** `W/"470867"` -> `470867`. */
export function versionFromEtag(etag: unknown): string | undefined {
  if (typeof etag !== 'string') return undefined;
  const m = /^(?:W\/)?"([^"]+)"$/.exec(etag.trim());
  return m ? m[1] : undefined;
}

/** When a row carries no ETag, a digest of its selected columns stands in for the version (same content, same id). */
export function contentVersion(record: Readonly<Record<string, unknown>>, columns: readonly string[]): string {
  const h = createHash('sha256');
  for (const c of [...columns].sort()) h.update(`${c}=${JSON.stringify(record[c] ?? null)}\u0000`);
  return `h${h.digest('hex').slice(0, 24)}`;
}

/** `<table>:<id>:v<version>` or `<table>:<id>:deleted` (at most 64 + 36 + 22 characters, under Service Bus's 128). */
export function changeMessageId(table: string, change: TrackedChange): string {
  return change.kind === 'deleted' ? `${table}:${change.id}:deleted` : `${table}:${change.id}:v${change.version}`;
}

/** The body: the configured columns (and the primary key) of the row, or a deletion marker in OData's delta shape. */
export function changeBody(source: ChangeTrackingSourceConfig, change: TrackedChange): Record<string, unknown> {
  if (change.kind === 'deleted') return { [source.primaryIdAttribute]: change.id, '@removed': { reason: 'deleted' } };
  const body: Record<string, unknown> = { [source.primaryIdAttribute]: change.id };
  for (const c of source.columns) body[c] = change.record[c] ?? null;
  return body;
}

/** The source's target format (obx_MessageFormats) and the environment URL (the CloudEvents `source`). */
export interface ChangeMessageFormat {
  format: MessageFormatName;
  environmentUrl: string;
}

/**
 * A change's CloudEvents attributes: id = the messageId (one per row version, so a re-read is the same event),
 * source = environment URL/table, type = the source's event type (or deleted event type), subject = the row id,
 * time = the row's modifiedon (none for a deletion: Dataverse's delta does not say when).
 */
export function changeCloudEventAttributes(source: ChangeTrackingSourceConfig, change: TrackedChange, environmentUrl: string): CloudEventAttributes {
  const attributes: CloudEventAttributes = {
    specversion: CloudEvents.specVersion,
    id: changeMessageId(source.table, change),
    source: cloudEventSource(environmentUrl, source.table),
    type: change.kind === 'deleted' ? source.deletedEventType : source.eventType,
    subject: change.id,
    datacontenttype: DEFAULT_CONTENT_TYPE,
  };
  if (change.kind === 'changed' && change.modifiedOn) attributes.time = change.modifiedOn.toISOString();
  return attributes;
}

function formatted(message: OutboundMessage, source: ChangeTrackingSourceConfig, change: TrackedChange, format: ChangeMessageFormat | undefined): OutboundMessage {
  if (!format || format.format === MessageFormat.Default) return message;
  return inMessageFormat(message, changeCloudEventAttributes(source, change, format.environmentUrl), format.format, true);
}

/** `traceParent`: the change's send span (./tracing.ts), carried in Diagnostic-Id and traceparent as on outbox messages. */
export function toChangeMessage(source: ChangeTrackingSourceConfig, change: TrackedChange, format?: ChangeMessageFormat, traceParent?: string): OutboundMessage {
  return formatted(defaultChangeMessage(source, change, traceParent), source, change, format);
}

function defaultChangeMessage(source: ChangeTrackingSourceConfig, change: TrackedChange, traceParent: string | undefined): OutboundMessage {
  const messageId = changeMessageId(source.table, change);
  const applicationProperties: Record<string, string | number> = {
    [MessageProperties.outboxMessageId]: messageId,
    [MessageProperties.sourceEntity]: source.table,
    [MessageProperties.sourceId]: change.id,
    [ChangeTrackingProperties.changeKind]: change.kind,
    [ChangeTrackingProperties.changeSource]: source.name,
  };
  if (change.kind === 'changed') applicationProperties[ChangeTrackingProperties.changeVersion] = change.version;
  Object.assign(applicationProperties, traceApplicationProperties(traceParent));
  return {
    messageId,
    body: changeBody(source, change),
    contentType: DEFAULT_CONTENT_TYPE,
    subject: change.kind === 'deleted' ? source.deletedEventType : source.eventType,
    // Order per record: every change of a row goes to the row's session.
    sessionId: change.id,
    applicationProperties,
  };
}

/** Stand-in for a row whose selected columns do not fit in a message: same messageId, the id and a marker, never dropped. */
export function toOmittedChangeMessage(source: ChangeTrackingSourceConfig, change: TrackedChange, reason: string, format?: ChangeMessageFormat, traceParent?: string): OutboundMessage {
  const full = defaultChangeMessage(source, change, traceParent);
  return formatted({ ...full, body: { [source.primaryIdAttribute]: change.id, '@omitted': { reason, columns: [...source.columns] } } }, source, change, format);
}

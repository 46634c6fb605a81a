// Builds an outbox message for the record open in a form: source entity/id from the form, session key = record id
// (so all messages of one record are published in order), a fresh correlation id unless one is given.
import { newGuid, normaliseGuid } from '../shared/guid';
import type { OutboxMessageInput } from './commit';
import { OutboxCommitError } from './errors';

export interface FormMessageOptions {
  target: string;
  eventType?: string;
  /** Defaults to a snapshot of the form: {entity, id, attributes: {column: value}}. */
  payload?: unknown;
  contentType?: string;
  messageId?: string;
  /** Defaults to a new GUID. */
  correlationId?: string;
  /** Defaults to the record id; null = no ordering. */
  sessionKey?: string | null;
  name?: string;
  expiresOn?: Date | string;
}

type AttributeValue = string | number | boolean | Date | null | Array<{ id?: string; entityType?: string; name?: string }> | number[] | unknown;

function snapshotValue(value: AttributeValue): unknown {
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) {
    // Lookup values: keep what identifies the row, not the form's display objects.
    return value.map((item: unknown) => {
      if (typeof item === 'object' && item !== null && 'id' in item) {
        const lookup = item as { id?: string; entityType?: string; name?: string };
        return { id: normaliseGuid(lookup.id) ?? lookup.id, entityType: lookup.entityType, name: lookup.name };
      }
      return item;
    });
  }
  return value;
}

/** A plain JSON snapshot of the form's columns. */
export function formSnapshot(formContext: Xrm.FormContext): { entity: string; id: string | undefined; attributes: Record<string, unknown> } {
  const attributes: Record<string, unknown> = {};
  formContext.data.entity.attributes.forEach((attribute) => {
    attributes[attribute.getName()] = snapshotValue(attribute.getValue() as AttributeValue);
  });
  return { entity: formContext.data.entity.getEntityName(), id: normaliseGuid(formContext.data.entity.getId()), attributes };
}

export function outboxMessageFromForm(formContext: Xrm.FormContext, options: FormMessageOptions): OutboxMessageInput {
  const entity = formContext.data.entity.getEntityName();
  const id = normaliseGuid(formContext.data.entity.getId());
  if (!id) {
    throw new OutboxCommitError('UnsavedRecord', `The ${entity} on this form has not been saved yet, so an outbox message cannot name it; save first, or commit a 'create' change with commitWithOutbox.`);
  }
  return {
    target: options.target,
    eventType: options.eventType,
    payload: options.payload === undefined ? formSnapshot(formContext) : options.payload,
    contentType: options.contentType,
    messageId: options.messageId,
    correlationId: options.correlationId ?? newGuid(),
    sessionKey: options.sessionKey === undefined ? id : options.sessionKey,
    sourceEntity: entity,
    sourceId: id,
    name: options.name,
    expiresOn: options.expiresOn,
  };
}

// Builds an Outbox Message form with xrm-mock: every column as an attribute with one control, like the real main form.
import { OutboxMessage } from '@dataverse-outbox/contract';
import { XrmMockGenerator } from 'xrm-mock';

const col = OutboxMessage.columns;

export interface FormRow {
  id?: string;
  status?: number | null;
  lastError?: string | null;
  payload?: string | null;
  contentType?: string | null;
  attempts?: number | null;
  replayCount?: number | null;
  nextAttemptOn?: Date | null;
  target?: string;
  formType?: number;
}

export interface FormNotification {
  message: string;
  level: string;
  uniqueId: string;
}

export function createOutboxMessageForm(row: FormRow): { eventContext: Xrm.Events.EventContext; formContext: Xrm.FormContext } {
  XrmMockGenerator.initialise({
    entity: { entityName: OutboxMessage.logicalName, id: row.id ?? '{6F0A1B2C-3D4E-4F5A-8B6C-7D8E9F0A1B2C}' },
  });
  const maxLength: Record<string, number> = OutboxMessage.maxLength;
  const string = (name: string, value: string | null | undefined) =>
    XrmMockGenerator.Attribute.createString({ name, value: value ?? null, maxLength: maxLength[name] } as never, [{ name }] as never);
  const number = (name: string, value: number | null | undefined) =>
    XrmMockGenerator.Attribute.createNumber({ name, value: value ?? null } as never, [{ name }] as never);
  string(col.name, 'SalesOrderWon opportunity:1');
  string(col.messageId, 'order-1');
  string(col.target, row.target ?? 'sales-orders');
  string(col.eventType, 'SalesOrderWon');
  string(col.payload, row.payload === undefined ? '{"orderId":1,"lines":[{"sku":"A","qty":2}],"empty":{}}' : row.payload);
  string(col.contentType, row.contentType === undefined ? 'application/json' : row.contentType);
  string(col.correlationId, 'corr-1');
  string(col.sessionKey, 'opportunity-1');
  string(col.sourceEntity, 'opportunity');
  string(col.sourceId, '6f0a1b2c-3d4e-4f5a-8b6c-7d8e9f0a1b2c');
  string(col.lastError, row.lastError);
  XrmMockGenerator.Attribute.createOptionSet({ name: col.status, value: row.status ?? null } as never, [{ name: col.status }] as never);
  number(col.attempts, row.attempts);
  number(col.replayCount, row.replayCount);
  number(col.sequence, 7);
  number(col.partitionSlot, 321);
  XrmMockGenerator.Attribute.createDate({ name: col.nextAttemptOn, value: row.nextAttemptOn ?? null } as never, [{ name: col.nextAttemptOn }] as never);
  const formContext = XrmMockGenerator.getFormContext() as unknown as Xrm.FormContext;
  // xrm-mock reports a Create form by default; an existing row's form is Update (2) unless the test says otherwise.
  jest.spyOn(formContext.ui, 'getFormType').mockReturnValue((row.formType ?? 2) as XrmEnum.FormType);
  return { eventContext: XrmMockGenerator.getEventContext() as unknown as Xrm.Events.EventContext, formContext };
}

export function notifications(formContext: Xrm.FormContext): FormNotification[] {
  return ((formContext.ui as unknown as { formNotifications?: FormNotification[] }).formNotifications ?? []).slice();
}

export function isDisabled(formContext: Xrm.FormContext, column: string): boolean {
  const control = formContext.getControl<Xrm.Controls.StandardControl>(column);
  if (!control) throw new Error(`no control for ${column}`);
  return control.getDisabled();
}

// Form script of the Outbox Message main form (registered as Obx.Outbox.Form.onLoad, execution context passed).
// Operators read rows here; status changes go through the Retry / Replay / Cancel commands only.
import { OutboxMessage, OutboxStatus, scheduledUntil } from '@dataverse-outbox/contract';
import { formatJsonText, isJsonContentType } from '../shared/json-format';

const col = OutboxMessage.columns;

/** Unique ids of the notifications this script owns (cleared and re-set on every evaluation). */
export const FormNotificationIds = {
  status: 'obx_outbox_status',
  payload: 'obx_outbox_payload',
} as const;

/** Shown when column security hides the payload from this user (Outbox Reader, or no outbox profile). */
export const PayloadHiddenNotice =
  'The payload is hidden by column security: your column security profile may not read it (Outbox Reader does not; Outbox Operator does).';

/** Longest last-error text put into a notification bar; the full text stays in the Last Error column. */
export const MaxNotificationErrorLength = 600;

/** Columns only the publisher, the commands or the writer that created the row write: never editable on the form. */
export const SystemManagedColumns: readonly string[] = [
  col.messageId,
  // Set once by the writer (the row's publisher partition slot); moving a row between partitions could break per-key order.
  col.partitionSlot,
  col.payload,
  col.sourceEntity,
  col.sourceId,
  col.sequence,
  col.status,
  col.attempts,
  col.nextAttemptOn,
  col.lastError,
  col.publishedOn,
  col.ackedOn,
  col.replayCount,
];

/** Once a row has been published (or finished) nothing about it may change on the form. */
export const LockedStatuses: readonly number[] = [OutboxStatus.Published, OutboxStatus.Acked, OutboxStatus.DeadLettered, OutboxStatus.Cancelled];

type Level = 'ERROR' | 'WARNING' | 'INFO';

function value<T>(formContext: Xrm.FormContext, column: string): T | null {
  const attribute = formContext.getAttribute(column);
  return attribute ? (attribute.getValue() as T | null) : null;
}

function shorten(text: string): string {
  const oneLine = text.replace(/\s+/g, ' ').trim();
  return oneLine.length > MaxNotificationErrorLength ? `${oneLine.slice(0, MaxNotificationErrorLength)}… (full text in Last Error)` : oneLine;
}

function formatDate(date: Date | null): string {
  return date instanceof Date && !Number.isNaN(date.getTime()) ? date.toISOString().replace('T', ' ').replace(/\.\d{3}Z$/, ' UTC') : 'unknown time';
}

/** The status notification for a row, or undefined when the status needs none. */
export function statusNotification(formContext: Xrm.FormContext): { message: string; level: Level } | undefined {
  const status = value<number>(formContext, col.status);
  const lastError = value<string>(formContext, col.lastError);
  const reason = lastError && lastError.trim() ? shorten(lastError) : 'no reason was recorded';
  switch (status) {
    case OutboxStatus.Failed:
      return { level: 'ERROR', message: `Failed, not published: ${reason}. Fix the cause, then use Retry (or Cancel).` };
    case OutboxStatus.DeadLettered:
      return { level: 'ERROR', message: `Dead-lettered by the consumer or broker: ${reason}. Use Replay to send it again (or Cancel).` };
    case OutboxStatus.Cancelled:
      return { level: 'INFO', message: 'Cancelled by an operator: this message will not be published.' };
    case OutboxStatus.Pending: {
      const attempts = value<number>(formContext, col.attempts) ?? 0;
      // The contract's one definition: never attempted, not held, and its time still ahead.
      const scheduled = scheduledUntil({ status, attempts, nextAttemptOn: value<Date>(formContext, col.nextAttemptOn), lastError }, new Date());
      if (scheduled) {
        return { level: 'INFO', message: `Scheduled until ${formatDate(scheduled)}: not sent before then. Cancel works until it is sent.` };
      }
      if (attempts > 0 && lastError && lastError.trim()) {
        return {
          level: 'WARNING',
          message: `Waiting to retry (${attempts} attempt${attempts === 1 ? '' : 's'} so far, next not before ${formatDate(value<Date>(formContext, col.nextAttemptOn))}): ${reason}`,
        };
      }
      return undefined;
    }
    default:
      return undefined;
  }
}

function showStatus(formContext: Xrm.FormContext): void {
  formContext.ui.clearFormNotification(FormNotificationIds.status);
  const notification = statusNotification(formContext);
  if (notification) formContext.ui.setFormNotification(notification.message, notification.level, FormNotificationIds.status);
}

/** False only when the host says the user may not read the column (column security); unknown counts as readable. */
function canRead(attribute: Xrm.Attributes.Attribute): boolean {
  try {
    return attribute.getUserPrivilege().canRead !== false;
  } catch {
    return true;
  }
}

function showPayload(formContext: Xrm.FormContext): void {
  formContext.ui.clearFormNotification(FormNotificationIds.payload);
  const attribute = formContext.getAttribute(col.payload) as Xrm.Attributes.StringAttribute | null;
  if (!attribute) return;
  attribute.controls.forEach((control) => (control as Xrm.Controls.StandardControl).setDisabled(true));
  if (!canRead(attribute)) {
    // Dataverse sends no value: say why the field is empty rather than leave a blank that looks like a bad row.
    formContext.ui.setFormNotification(PayloadHiddenNotice, 'INFO', FormNotificationIds.payload);
    return;
  }
  const raw = attribute.getValue();
  if (typeof raw !== 'string' || raw.length === 0 || !isJsonContentType(value<string>(formContext, col.contentType))) return;
  try {
    JSON.parse(raw);
  } catch {
    formContext.ui.setFormNotification('The payload is not valid JSON although its content type says JSON: the publisher will fail this row.', 'WARNING', FormNotificationIds.payload);
    return;
  }
  const formatted = formatJsonText(raw);
  // The form refuses values longer than the column: then the stored text is shown as it is.
  const max = typeof attribute.getMaxLength === 'function' ? attribute.getMaxLength() : OutboxMessage.maxLength.obx_payload;
  if (formatted === raw || formatted.length > max) return;
  // Display only: the formatted text must never be written back, the stored payload stays byte-for-byte as committed.
  attribute.setSubmitMode('never');
  attribute.setValue(formatted);
}

function lockFields(formContext: Xrm.FormContext): void {
  const status = value<number>(formContext, col.status);
  if (status !== null && LockedStatuses.indexOf(status) >= 0) {
    formContext.ui.controls.forEach((control) => {
      const standard = control as Partial<Xrm.Controls.StandardControl>;
      if (typeof standard.setDisabled === 'function') standard.setDisabled(true);
    });
    return;
  }
  for (const column of SystemManagedColumns) {
    const attribute = formContext.getAttribute(column);
    if (attribute) attribute.controls.forEach((control) => (control as Xrm.Controls.StandardControl).setDisabled(true));
  }
}

/** Applies formatting, notifications and locks for the row currently loaded. Safe to call repeatedly. */
export function apply(formContext: Xrm.FormContext): void {
  showPayload(formContext);
  showStatus(formContext);
  lockFields(formContext);
}

/** OnLoad handler (pass execution context). Re-applies whenever the row's data is reloaded (save, refresh by a command). */
export function onLoad(executionContext: Xrm.Events.EventContext): void {
  const formContext = executionContext.getFormContext();
  apply(formContext);
  formContext.data.addOnLoad(() => apply(formContext));
}

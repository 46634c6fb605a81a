import { OutboxMessage, OutboxStatus } from '@dataverse-outbox/contract';
import { FormNotificationIds, PayloadHiddenNotice, outboxMessageFormOnLoad as onLoad } from '../src';
import { createOutboxMessageForm, isDisabled, notifications } from './support/xrm-form';

const col = OutboxMessage.columns;

describe('Outbox Message form script (Obx.Outbox.Form.onLoad)', () => {
  it('Failed: shows obx_lasterror as an error notification', () => {
    const { eventContext, formContext } = createOutboxMessageForm({ status: OutboxStatus.Failed, lastError: "Target 'payments' is not in obx_AllowedTargets" });
    onLoad(eventContext);
    const [status] = notifications(formContext).filter((n) => n.uniqueId === FormNotificationIds.status);
    expect(status.level).toBe('ERROR');
    expect(status.message).toContain("Target 'payments' is not in obx_AllowedTargets");
    expect(status.message).toMatch(/^Failed/);
  });

  it('DeadLettered: shows obx_lasterror as an error notification', () => {
    const { eventContext, formContext } = createOutboxMessageForm({ status: OutboxStatus.DeadLettered, lastError: 'MaxDeliveryCountExceeded' });
    onLoad(eventContext);
    const status = notifications(formContext).find((n) => n.uniqueId === FormNotificationIds.status);
    expect(status).toEqual(expect.objectContaining({ level: 'ERROR', message: expect.stringContaining('MaxDeliveryCountExceeded') }));
  });

  it('a long multi-line last error is shortened to one line, pointing at the column', () => {
    const { eventContext, formContext } = createOutboxMessageForm({ status: OutboxStatus.Failed, lastError: `first line\n${'x'.repeat(3000)}` });
    onLoad(eventContext);
    const status = notifications(formContext).find((n) => n.uniqueId === FormNotificationIds.status);
    expect(status?.message).not.toContain('\n');
    expect(status?.message).toContain('full text in Last Error');
    expect(status!.message.length).toBeLessThan(800);
  });

  it('Published and Acked rows get no status notification', () => {
    for (const status of [OutboxStatus.Published, OutboxStatus.Acked]) {
      const { eventContext, formContext } = createOutboxMessageForm({ status, lastError: 'old error' });
      onLoad(eventContext);
      expect(notifications(formContext).filter((n) => n.uniqueId === FormNotificationIds.status)).toEqual([]);
    }
  });

  it('a Pending row waiting for a retry warns with the attempt count and last error', () => {
    const { eventContext, formContext } = createOutboxMessageForm({
      status: OutboxStatus.Pending,
      attempts: 3,
      lastError: 'ServiceBusy',
      nextAttemptOn: new Date('2030-01-02T03:04:05Z'),
    });
    onLoad(eventContext);
    const status = notifications(formContext).find((n) => n.uniqueId === FormNotificationIds.status);
    expect(status?.level).toBe('WARNING');
    expect(status?.message).toContain('3 attempts');
    expect(status?.message).toContain('2030-01-02 03:04:05 UTC');
  });

  it('a scheduled row (Pending, never attempted, its time ahead) says so, until when, and that cancel works', () => {
    const at = new Date(Math.ceil((Date.now() + 3_600_000) / 1000) * 1000);
    const { eventContext, formContext } = createOutboxMessageForm({ status: OutboxStatus.Pending, attempts: 0, nextAttemptOn: at });
    onLoad(eventContext);
    const status = notifications(formContext).find((n) => n.uniqueId === FormNotificationIds.status);
    expect(status?.level).toBe('INFO');
    expect(status?.message).toBe(`Scheduled until ${at.toISOString().slice(0, 10)} ${at.toISOString().slice(11, 19)} UTC: not sent before then. Cancel works until it is sent.`);
    // Due already: an ordinary Pending row, no notification.
    const due = createOutboxMessageForm({ status: OutboxStatus.Pending, attempts: 0, nextAttemptOn: new Date(Date.now() - 1000) });
    onLoad(due.eventContext);
    expect(notifications(due.formContext).find((n) => n.uniqueId === FormNotificationIds.status)).toBeUndefined();
  });

  it('shows the payload formatted and read-only, and never submits the formatted text', () => {
    const stored = '{"orderId":12345678901234567890,"lines":[{"sku":"A","qty":2}],"note":"a, b: {c}","empty":{}}';
    const { eventContext, formContext } = createOutboxMessageForm({ status: OutboxStatus.Pending, payload: stored });
    onLoad(eventContext);
    const payload = formContext.getAttribute<Xrm.Attributes.StringAttribute>(col.payload)!;
    expect(payload.getValue()).toBe(
      ['{', '  "orderId": 12345678901234567890,', '  "lines": [', '    {', '      "sku": "A",', '      "qty": 2', '    }', '  ],', '  "note": "a, b: {c}",', '  "empty": {}', '}'].join('\n'),
    );
    // Same JSON, and the big integer is shown exactly as stored (no float rounding).
    expect(JSON.stringify(JSON.parse(payload.getValue()!))).toBe(JSON.stringify(JSON.parse(stored)));
    expect(payload.getSubmitMode()).toBe('never');
    expect(isDisabled(formContext, col.payload)).toBe(true);
  });

  it('says the payload is hidden by column security when the user may not read it, and writes nothing', () => {
    const { eventContext, formContext } = createOutboxMessageForm({ status: OutboxStatus.Published, payload: null });
    const payload = formContext.getAttribute<Xrm.Attributes.StringAttribute>(col.payload)!;
    jest.spyOn(payload, 'getUserPrivilege').mockReturnValue({ canRead: false, canUpdate: false, canCreate: false });
    onLoad(eventContext);
    expect(notifications(formContext).filter((n) => n.uniqueId === FormNotificationIds.payload)).toEqual([
      expect.objectContaining({ message: PayloadHiddenNotice, level: 'INFO' }),
    ]);
    expect(payload.getValue()).toBeNull();
    expect(payload.getSubmitMode()).not.toBe('always');
    expect(isDisabled(formContext, col.payload)).toBe(true);
  });

  it('leaves a non-JSON payload untouched and warns when a JSON content type holds invalid JSON', () => {
    const text = createOutboxMessageForm({ status: OutboxStatus.Pending, payload: 'plain, text', contentType: 'text/plain' });
    onLoad(text.eventContext);
    expect(text.formContext.getAttribute(col.payload)!.getValue()).toBe('plain, text');
    expect(notifications(text.formContext)).toEqual([]);

    const broken = createOutboxMessageForm({ status: OutboxStatus.Pending, payload: '{"a":' });
    onLoad(broken.eventContext);
    expect(broken.formContext.getAttribute(col.payload)!.getValue()).toBe('{"a":');
    expect(notifications(broken.formContext)).toEqual([expect.objectContaining({ uniqueId: FormNotificationIds.payload, level: 'WARNING' })]);
  });

  it.each([
    ['Published', OutboxStatus.Published],
    ['Acked', OutboxStatus.Acked],
    ['DeadLettered', OutboxStatus.DeadLettered],
    ['Cancelled', OutboxStatus.Cancelled],
  ])('locks every field once the row is %s', (_name, status) => {
    const { eventContext, formContext } = createOutboxMessageForm({ status });
    onLoad(eventContext);
    for (const column of [col.target, col.eventType, col.correlationId, col.sessionKey, col.name, col.status, col.payload]) {
      expect(isDisabled(formContext, column)).toBe(true);
    }
  });

  it('before publishing only the publisher-managed columns are locked', () => {
    const { eventContext, formContext } = createOutboxMessageForm({ status: OutboxStatus.Failed, lastError: 'x' });
    onLoad(eventContext);
    for (const column of [col.status, col.attempts, col.lastError, col.replayCount, col.sequence, col.messageId, col.payload, col.sourceId, col.partitionSlot]) {
      expect(isDisabled(formContext, column)).toBe(true);
    }
    for (const column of [col.target, col.eventType, col.correlationId]) {
      expect(isDisabled(formContext, column)).toBe(false);
    }
  });

  it('re-applies when the row is reloaded (e.g. after a command refreshed the form)', () => {
    const { eventContext, formContext } = createOutboxMessageForm({ status: OutboxStatus.Failed, lastError: 'boom' });
    onLoad(eventContext);
    // The operator retried: the refreshed data says Pending and no error any more.
    formContext.getAttribute(col.status)!.setValue(OutboxStatus.Pending);
    formContext.getAttribute(col.lastError)!.setValue(null);
    const handlers = (formContext.data as unknown as { loadEventHandlers: Array<() => void> }).loadEventHandlers;
    expect(handlers).toHaveLength(1);
    handlers[0]();
    expect(notifications(formContext).filter((n) => n.uniqueId === FormNotificationIds.status)).toEqual([]);

    formContext.getAttribute(col.status)!.setValue(OutboxStatus.Cancelled);
    handlers[0]();
    expect(notifications(formContext).find((n) => n.uniqueId === FormNotificationIds.status)?.level).toBe('INFO');
    expect(isDisabled(formContext, col.target)).toBe(true);
  });
});

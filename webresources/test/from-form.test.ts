import { OutboxMessage } from '@dataverse-outbox/contract';
import { XrmMockGenerator } from 'xrm-mock';
import { isOutboxCommitError, outboxMessageFromForm, planCommit } from '../src';

const col = OutboxMessage.columns;
const accountId = '3f2504e0-4f89-41d3-9a0c-0305e82c3301';

function accountForm(id: string): Xrm.FormContext {
  XrmMockGenerator.initialise({ entity: { entityName: 'account', id } });
  XrmMockGenerator.Attribute.createString('name', 'Contoso');
  XrmMockGenerator.Attribute.createNumber('numberofemployees', 12);
  XrmMockGenerator.Attribute.createLookup('primarycontactid', { id: '{9A0C0305-E82C-4F89-81D3-3F2504E03302}', entityType: 'contact', name: 'Ann' });
  return XrmMockGenerator.getFormContext() as unknown as Xrm.FormContext;
}

describe('outboxMessageFromForm', () => {
  it('takes source entity and id from the form, session key = record id, a new correlation id, a snapshot payload', () => {
    const message = outboxMessageFromForm(accountForm(`{${accountId.toUpperCase()}}`), { target: 'accounts', eventType: 'AccountChanged' });
    expect(message).toEqual(
      expect.objectContaining({ target: 'accounts', eventType: 'AccountChanged', sourceEntity: 'account', sourceId: accountId, sessionKey: accountId }),
    );
    expect(message.correlationId).toMatch(/^[0-9a-f-]{36}$/);
    expect(message.payload).toEqual({
      entity: 'account',
      id: accountId,
      attributes: {
        name: 'Contoso',
        numberofemployees: 12,
        primarycontactid: [{ id: '9a0c0305-e82c-4f89-81d3-3f2504e03302', entityType: 'contact', name: 'Ann' }],
      },
    });
    // It commits as-is: the outbox row names the form's record.
    const plan = planCommit({ operation: 'update', entityLogicalName: 'account', id: accountId, data: { name: 'Contoso Ltd' } }, message);
    const row = (plan.changeSet[1] as { payload: Record<string, unknown> }).payload;
    expect([row[col.sourceEntity], row[col.sourceId], row[col.sessionKey]]).toEqual(['account', accountId, accountId]);
  });

  it('keeps explicit values; null session key means no ordering', () => {
    const message = outboxMessageFromForm(accountForm(accountId), { target: 'q', payload: { a: 1 }, sessionKey: null, correlationId: 'c-1' });
    expect([message.payload, message.sessionKey, message.correlationId]).toEqual([{ a: 1 }, null, 'c-1']);
  });

  it('refuses a form whose record is not saved yet', () => {
    let error: unknown;
    try {
      const form = accountForm(accountId);
      // A new record's form reports an empty id.
      jest.spyOn(form.data.entity, 'getId').mockReturnValue('');
      outboxMessageFromForm(form, { target: 'q' });
    } catch (e) {
      error = e;
    }
    expect(isOutboxCommitError(error)).toBe(true);
    expect((error as { code: string }).code).toBe('UnsavedRecord');
  });
});

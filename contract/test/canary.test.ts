// The canary's one definition: what tags a row as a canary and how its legs are read from the row.
import { canaryAcknowledgement, canaryEventType, canaryMessageIdPrefix, canaryProgress, isCanary, notACanaryReason, OutboxStatus } from '../src';

const t = (s: number): Date => new Date(Date.UTC(2030, 0, 1, 12, 0, s));

describe('canary', () => {
  it('is recognised by its event type or its message id prefix, and nothing else', () => {
    expect(isCanary({ eventType: canaryEventType })).toBe(true);
    expect(isCanary({ messageId: `${canaryMessageIdPrefix}abc` })).toBe(true);
    expect(isCanary({ eventType: 'order.created', messageId: 'order-1' })).toBe(false);
    expect(isCanary({})).toBe(false);
  });

  it('names the first leg without a time as pending: published while Pending, acked while Published', () => {
    expect(canaryProgress({ status: OutboxStatus.Pending, createdOn: t(0) })).toMatchObject({ pendingLeg: 'published', finished: false });
    const published = canaryProgress({ status: OutboxStatus.Published, createdOn: t(0), publishedOn: t(2) });
    expect(published.pendingLeg).toBe('acked');
    expect(published.legs[0]).toEqual({ leg: 'published', at: t(2), durationMs: 2000 });
    expect(published.legs[1]).toEqual({ leg: 'acked', at: undefined, durationMs: undefined });
  });

  it('gives each leg its duration from the previous one when Acked', () => {
    const p = canaryProgress({ status: OutboxStatus.Acked, createdOn: t(0), publishedOn: t(1), ackedOn: t(4) });
    expect(p).toEqual({ legs: [{ leg: 'published', at: t(1), durationMs: 1000 }, { leg: 'acked', at: t(4), durationMs: 3000 }], pendingLeg: undefined, finished: true });
  });

  it('is finished without coming back when Failed, and the leg it stopped at is named', () => {
    expect(canaryProgress({ status: OutboxStatus.Failed, createdOn: t(0), lastError: 'TargetNotAllowed' })).toMatchObject({ pendingLeg: 'published', finished: true });
    // An ack time on a row that is not Acked (a rejected ack, a replay) does not count as the canary coming back.
    expect(canaryProgress({ status: OutboxStatus.DeadLettered, createdOn: t(0), publishedOn: t(1), ackedOn: t(2) })).toMatchObject({ pendingLeg: 'acked', finished: true });
  });

  it('a responder answers a canary with its normal processed ack (outbox-id normalised) and refuses anything else', () => {
    const at = t(5);
    expect(canaryAcknowledgement({ outboxId: '{AAAAAAAA-0000-0000-0000-000000000001}', outboxMessageId: `${canaryMessageIdPrefix}x`, eventType: canaryEventType }, at)).toEqual({
      ok: true,
      ack: { outboxId: 'aaaaaaaa-0000-0000-0000-000000000001', messageId: `${canaryMessageIdPrefix}x`, outcome: 'processed', processedAt: at },
    });
    const refused = { ok: false, reason: notACanaryReason };
    expect(canaryAcknowledgement({ outboxId: 'aaaaaaaa-0000-0000-0000-000000000001', outboxMessageId: 'order-1', eventType: 'order.created' }, at)).toMatchObject(refused);
    expect(canaryAcknowledgement({ outboxId: 'not-a-guid', outboxMessageId: `${canaryMessageIdPrefix}x`, eventType: canaryEventType }, at)).toMatchObject(refused);
    expect(canaryAcknowledgement({ outboxMessageId: `${canaryMessageIdPrefix}x` }, at)).toMatchObject(refused);
    expect(canaryAcknowledgement({ outboxId: 'aaaaaaaa-0000-0000-0000-000000000001', outboxMessageId: 42, eventType: canaryEventType }, at)).toMatchObject(refused);
  });
});

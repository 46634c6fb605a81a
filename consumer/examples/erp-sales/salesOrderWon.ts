// The "order won" event this ERP integration understands, and its validation. Anything that breaks these rules can never
// succeed on retry, so it is a PermanentError (ValidationFailed): dead-lettered at once and acknowledged `rejected`.
import { PermanentError, type OutboxEvent } from '@dataverse-outbox/consumer';

export const ErpSalesEventTypes = { SalesOrderWon: 'SalesOrderWon' } as const;

/** Payload of `SalesOrderWon` (schema version 1). The outbox row's obx_sessionkey is the opportunity id. */
export interface SalesOrderWonPayload {
  schemaVersion?: 1;
  opportunityId: string;
  /** Customer name, or `{ id?, name }`. */
  customer: string | { id?: string; name: string };
  amount: number;
  /** ISO 4217 code, default EUR. */
  currency?: string;
}

/** A sales order as the ERP stores it. */
export interface SalesOrderDraft {
  opportunityId: string;
  customer: string;
  amount: number;
  currency: string;
  outboxMessageId: string;
  outboxSequence: number | null;
  sessionKey: string | null;
}

function fail(message: string): never {
  throw new PermanentError(`SalesOrderWon payload: ${message}`, { reason: 'ValidationFailed' });
}

export function toSalesOrder(event: OutboxEvent): SalesOrderDraft {
  const payload = event.payload;
  if (!payload || typeof payload !== 'object' || Array.isArray(payload) || Buffer.isBuffer(payload)) fail('must be a JSON object');
  const p = payload as Record<string, unknown>;
  if (typeof p.opportunityId !== 'string' || p.opportunityId.trim() === '') fail('opportunityId must be a non-empty string');
  let customer: string;
  if (typeof p.customer === 'string') customer = p.customer;
  else if (p.customer && typeof p.customer === 'object' && typeof (p.customer as { name?: unknown }).name === 'string') {
    customer = (p.customer as { name: string }).name;
  } else fail('customer must be a name or { name }');
  if (customer.trim() === '') fail('customer must not be empty');
  if (typeof p.amount !== 'number' || !Number.isFinite(p.amount) || p.amount < 0) fail('amount must be a non-negative number');
  const currency = p.currency === undefined ? 'EUR' : p.currency;
  if (typeof currency !== 'string' || !/^[A-Z]{3}$/.test(currency)) fail('currency must be an ISO 4217 code such as EUR');
  return {
    opportunityId: p.opportunityId,
    customer,
    amount: p.amount,
    currency,
    outboxMessageId: event.outboxMessageId,
    outboxSequence: event.outboxSequence ?? null,
    sessionKey: event.sessionKey ?? null,
  };
}

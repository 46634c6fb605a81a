import { OutboxStatus } from '@dataverse-outbox/contract';
import type { OutboxRow } from '../../src/core';

export function row(overrides: Partial<OutboxRow> = {}): OutboxRow {
  return {
    id: '00000000-0000-0000-0000-000000000001',
    messageId: 'order-1',
    target: 'orders',
    payload: '{"orderId":1}',
    sequence: '0000000001',
    status: OutboxStatus.Pending,
    attempts: 0,
    replayCount: 0,
    ...overrides,
  };
}

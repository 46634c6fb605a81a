// The canary runner's adapters over Dataverse: the row is written like any producer's (the contract's one row
// builder, one create), and read back through the outbox store. The runner itself is core/canary.ts.
import { randomUUID } from 'node:crypto';
import { buildOutboxRow, canaryEventType, canaryMessageIdPrefix, OutboxMessage } from '@dataverse-outbox/contract';
import type { DataverseClient } from '@dataverse-outbox/web-api';
import type { DataverseOutboxStore } from './dataverse/outboxStore';
import { runCanary, type CanaryOptions, type CanaryPorts, type CanaryResult } from './core/canary';

export { describeCanary, runCanary } from './core/canary';
export type { CanaryOptions, CanaryPorts, CanaryResult } from './core/canary';

export function dataverseCanaryPorts(client: DataverseClient, store: DataverseOutboxStore): CanaryPorts {
  return {
    async write(m) {
      return writeCanaryRow(client, m.target, m.messageId, m.payload.sentAt);
    },
    async read(rowId) {
      return (await store.readByIds([rowId]))[0];
    },
    now: () => new Date(),
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    newId: randomUUID,
  };
}

/** Writes one canary row and returns at once (the Functions timer: the publish timer and the responder do the rest). */
export async function sendCanary(client: DataverseClient, target: string): Promise<{ rowId: string; messageId: string }> {
  const messageId = `${canaryMessageIdPrefix}${randomUUID()}`;
  return { rowId: await writeCanaryRow(client, target, messageId, new Date().toISOString()), messageId };
}

/** The canary row, built by the contract's one row builder and created like a producer's row. */
async function writeCanaryRow(client: DataverseClient, target: string, messageId: string, sentAt: string): Promise<string> {
  const row = buildOutboxRow({ target, eventType: canaryEventType, messageId, payload: { canary: true, sentAt }, name: `canary ${sentAt}` }, { newId: randomUUID });
  await client.create(OutboxMessage.entitySetName, row.record);
  return row.rowId;
}

/** Runs one canary against a Dataverse environment. */
export function runDataverseCanary(client: DataverseClient, store: DataverseOutboxStore, options: CanaryOptions): Promise<CanaryResult> {
  return runCanary(dataverseCanaryPorts(client, store), options);
}

// Issue 20 item 2, and the chaos run that failed on the first batching listener (153 acks left active and locked in the
// ack queue after Service Bus was killed): Service Bus goes away while a time batch is open, acks already in hand. Every
// ack must still be applied to Dataverse and the ack queue must end empty, nothing active, locked or dead-lettered: an
// ack whose settlement fails comes back and is applied again. The listener runs on the publisher's own Service Bus
// client settings (createServiceBusClient), against both emulators over real sockets.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { buildEmulatorConfig, startServiceBusEmulator, type ServiceBusEmulator } from '@dataverse-outbox/emulators/servicebus';
import { AckListener, createServiceBusClient } from '../../src';
import { ackedCount, ackOf, ackQueue, ackQueueEmpty, publishedRows, sendAcks, type PublishedRow } from '../support/acks';
import { ACK_QUEUE, eventually, type Harness, storeWithApplyUpdates, useHarness } from '../support/harness';

let h: Harness;
useHarness((started) => (h = started));

/** Long enough that the batch is surely still open when the fault strikes; the default is 100 ms. */
const OPEN_BATCH_DELAY_MS = 3000;
/**
 * Every ack applied and the queue empty well within this: the listener needs about the batch delay. Settling an ack
 * that came on a link the SDK has since re-opened waits for the SDK's operation timeout (20 s) three times.
 */
const DRAINED_WITHIN_MS = 30_000;

/**
 * Each wave on a client of its own, as a consumer elsewhere would send it: a sender created on a client that lost its
 * connection a moment earlier waited a minute for its first send (an SDK sender matter, not the listener's).
 */
async function sendWave(connectionString: string, rows: PublishedRow[]): Promise<void> {
  const client = createServiceBusClient({ connectionString });
  try {
    await sendAcks(client, rows.map(ackOf));
  } finally {
    await client.close();
  }
}

interface Bus {
  sb: ServiceBusEmulator;
}

/**
 * Sends the first wave, waits until the listener holds all of it in an open batch (locked, nothing applied yet), lets
 * `fault` strike and sends the second wave. Dataverse takes the writes only once the listener holds acks again after
 * the fault (on a link opened since): a slow write, as Dataverse under load gives, so the acks received before the fault
 * are settled after the listener has reconnected. Then waits for every ack applied and the ack queue empty.
 */
async function faultDuringOpenBatch(prefix: string, bus: Bus, connectionString: string, fault: () => Promise<void>): Promise<void> {
  const rows = await publishedRows(h, prefix, 40);
  const [firstWave, secondWave] = [rows.slice(0, 20), rows.slice(20)];
  const client = createServiceBusClient({ connectionString });
  let openGate!: () => void;
  const gate = new Promise<void>((r) => (openGate = r));
  const store = storeWithApplyUpdates(h, async (updates, options) => {
    await gate;
    return h.store.applyUpdates(updates, options);
  });
  const listener = new AckListener(client, store, ACK_QUEUE, { maxBatchDelayInMs: OPEN_BATCH_DELAY_MS });
  listener.start();
  try {
    await sendWave(connectionString, firstWave);
    await eventually(async () => ackQueue(bus.sb).lockedMessageCount === firstWave.length || undefined, 'the first wave held in an open batch', 10_000, 10);
    expect(await ackedCount(h, prefix)).toBe(0);
    await fault();
    await sendWave(connectionString, secondWave);
    // Every lock from before the fault died with it: a locked ack now came on a link opened since.
    await eventually(async () => ackQueue(bus.sb).lockedMessageCount > 0 || undefined, 'the listener holding acks again', 10_000, 10);
    openGate();
    await eventually(async () => ((await ackedCount(h, prefix)) === rows.length && ackQueueEmpty(bus.sb)) || undefined, 'every ack applied and the ack queue empty', DRAINED_WITHIN_MS, 250);
  } finally {
    openGate();
    await listener.close();
    await client.close();
  }
  expect(await ackedCount(h, prefix)).toBe(rows.length);
  expect(ackQueue(bus.sb)).toMatchObject({ activeMessageCount: 0, lockedMessageCount: 0, deadLetterMessageCount: 0 });
}

it('Service Bus drops every connection while a time batch is open: every ack is applied and the ack queue ends empty', async () => {
  await faultDuringOpenBatch('dropped', { sb: h.sb }, h.sb.connectionString, async () => {
    expect(h.sb.dropAllConnections()).toBeGreaterThan(0);
  });
}, 90_000);

it('Service Bus is killed and restarted on its data file while a time batch is open: every ack is applied and the ack queue ends empty', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'ack-listener-restart-'));
  const config = buildEmulatorConfig({ queues: [{ name: ACK_QUEUE, maxDeliveryCount: 10, lockDurationInMs: 30_000 }] });
  const dataFile = path.join(dir, 'servicebus.sqlite');
  const bus: Bus = { sb: await startServiceBusEmulator({ port: 0, config, dataFile }) };
  const { port, connectionString } = bus.sb;
  try {
    await faultDuringOpenBatch('restarted', bus, connectionString, async () => {
      // Its sockets are destroyed without a close frame, as a SIGKILL leaves them; its locks lived in memory, so the
      // acks it held are available again as soon as it is back.
      await bus.sb.close();
      await new Promise((r) => setTimeout(r, 1000));
      bus.sb = await startServiceBusEmulator({ port, config, dataFile });
    });
  } finally {
    await bus.sb.close();
    rmSync(dir, { recursive: true, force: true });
  }
}, 90_000);

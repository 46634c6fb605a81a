// The demo producer: a sales team winning opportunities. Each win is ONE change set through the Node writer: the
// opportunity is marked Won and a SalesOrderWon outbox row is added, both or neither (invariant 2). A few orders carry
// deliberately bad rows, the kinds a real producer gets wrong: a target that is not allowed, a malformed payload (a
// hand-built row that bypassed the writer's checks) and an oversize payload. Each must end Failed with a clear reason
// and never hold back the good ones (invariant 5).
import { randomUUID } from 'node:crypto';
import { SpanStatusCode, trace } from '@opentelemetry/api';
import { OutboxMessage, partitionSlotOfKey } from '@dataverse-outbox/contract';
import { type DataverseClient, type EntityRecord } from '@dataverse-outbox/publisher-function';
import { OutboxWriter } from '@dataverse-outbox/producer';
import { DEMO_CUSTOMERS, ERP_SALES_QUEUE, NOT_ALLOWED_TARGET } from '../config/localStack';

export type OrderKind = 'good' | 'target-not-allowed' | 'malformed-payload' | 'oversize-payload';
export const badKinds: readonly Exclude<OrderKind, 'good'>[] = ['target-not-allowed', 'malformed-payload', 'oversize-payload'];

export const SALES_ORDER_WON = 'SalesOrderWon';
/** Oversize payloads: above Service Bus's 256 KB (Standard tier) but within obx_payload's 1,048,576 characters. */
export const OVERSIZE_PAYLOAD_BYTES = 300_000;

export interface DemoOrder {
  index: number;
  kind: OrderKind;
  opportunityId: string;
  customer: string;
  /** The customer's account: the ordering key (obx_sessionkey), so each customer's orders reach the ERP in order. */
  accountId: string;
  amount: number;
  /** obx_messageid of its outbox row (`SalesOrderWon:<opportunity id>`). */
  messageId: string;
  /** Epoch ms when the change set's response arrived (the commit as the producer saw it). */
  committedAt?: number;
  /** Why the change set failed (then nothing of it was written). */
  error?: string;
}

export interface DemoProducerOptions {
  client: DataverseClient;
  orders: number;
  /** Orders per second. */
  rate: number;
  /** Bad rows of each kind; default max(1, round(orders / 200)) (0 = none). */
  badPerKind?: number;
  /** Change sets in flight at once. Default 8. */
  concurrency?: number;
  /** Tags every row of this run (obx_correlationid = `demo-<runId>`). Default: a new id. */
  runId?: string;
  abortSignal?: AbortSignal;
  /** After each change set (committed or failed). */
  onProgress?: (p: { committed: number; failed: number; total: number }) => void;
}

export interface DemoProducerResult {
  runId: string;
  correlationId: string;
  orders: DemoOrder[];
  startedAt: number;
  finishedAt: number;
}

const customers = DEMO_CUSTOMERS;

export const correlationIdFor = (runId: string): string => `demo-${runId}`;

/** Which orders are bad: spread evenly through the run, kinds in turn, so bad rows sit between good ones. */
export function planKinds(orders: number, badPerKind: number): OrderKind[] {
  const kinds: OrderKind[] = Array.from({ length: orders }, () => 'good');
  const bad = Math.min(orders, badPerKind * badKinds.length);
  for (let i = 0; i < bad; i++) kinds[Math.floor(((i + 0.5) * orders) / bad)] = badKinds[i % badKinds.length]!;
  return kinds;
}

const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    if (ms <= 0 || signal?.aborted) return resolve();
    const onAbort = (): void => {
      clearTimeout(t);
      resolve();
    };
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });

function payloadFor(order: DemoOrder, runId: string): Record<string, unknown> {
  return {
    schemaVersion: 1,
    opportunityId: order.opportunityId,
    customer: { id: order.accountId, name: order.customer },
    amount: order.amount,
    currency: 'EUR',
    demoRun: runId,
  };
}

/** Creates the customers and open opportunities the run will win (setup, not part of the measured change sets). */
async function createOpportunities(client: DataverseClient, runId: string, count: number, signal?: AbortSignal): Promise<Omit<DemoOrder, 'kind' | 'index' | 'messageId'>[]> {
  const accountIds = await client.createMultiple(
    'accounts',
    'account',
    customers.map((name) => ({ name: `${name} (demo ${runId.slice(0, 8)})` })),
    { abortSignal: signal },
  );
  const drafts = Array.from({ length: count }, (_, i) => ({
    customer: customers[i % customers.length]!,
    accountId: accountIds[i % accountIds.length]!,
    amount: Math.round(1_000 + ((i * 7919) % 90_000)) + 0.5,
  }));
  const out: Omit<DemoOrder, 'kind' | 'index' | 'messageId'>[] = [];
  for (let i = 0; i < drafts.length; i += 500) {
    const chunk = drafts.slice(i, i + 500);
    const ids = await client.createMultiple(
      'opportunities',
      'opportunity',
      chunk.map((d, j) => ({
        name: `Demo ${runId.slice(0, 8)} #${i + j + 1}: ${d.customer}`,
        estimatedvalue: d.amount,
        'parentaccountid@odata.bind': `/accounts(${d.accountId})`,
      })),
      { abortSignal: signal },
    );
    ids.forEach((id, j) => out.push({ opportunityId: id, customer: chunk[j]!.customer, accountId: chunk[j]!.accountId, amount: chunk[j]!.amount }));
  }
  return out;
}

const tracer = trace.getTracer('@dataverse-outbox/demo-producer');

/** One win in a span of its own: the row's trace starts here (the writer's span, whose context the row stores, is its child). */
function win(writer: OutboxWriter, order: DemoOrder, runId: string, signal?: AbortSignal): Promise<void> {
  const attributes = { 'messaging.message.id': order.messageId, 'outbox.source_id': order.opportunityId, 'demo.order_kind': order.kind };
  return tracer.startActiveSpan('win opportunity', { attributes }, async (span) => {
    try {
      await writeWin(writer, order, runId, signal);
    } catch (e) {
      span.setStatus({ code: SpanStatusCode.ERROR, message: e instanceof Error ? e.message : String(e) });
      throw e;
    } finally {
      span.end();
    }
  });
}

/** The opportunity update and its outbox row in one change set. */
async function writeWin(writer: OutboxWriter, order: DemoOrder, runId: string, signal?: AbortSignal): Promise<void> {
  const correlationId = correlationIdFor(runId);
  const c = OutboxMessage.columns;
  await writer.transaction(
    (tx) => {
      tx.update('opportunities', order.opportunityId, {
        statecode: 1,
        statuscode: 3,
        actualvalue: order.amount,
        actualclosedate: new Date().toISOString().slice(0, 10),
      });
      const common = {
        eventType: SALES_ORDER_WON,
        sessionKey: order.accountId,
        messageId: order.messageId,
        correlationId,
        sourceEntity: 'opportunity',
        sourceId: order.opportunityId,
      };
      switch (order.kind) {
        case 'good':
          tx.enqueue({ ...common, target: ERP_SALES_QUEUE, payload: payloadFor(order, runId) });
          break;
        case 'target-not-allowed':
          tx.enqueue({ ...common, target: NOT_ALLOWED_TARGET, payload: payloadFor(order, runId) });
          break;
        case 'oversize-payload':
          tx.enqueue({ ...common, target: ERP_SALES_QUEUE, payload: { ...payloadFor(order, runId), notes: 'x'.repeat(OVERSIZE_PAYLOAD_BYTES) } });
          break;
        case 'malformed-payload': {
          // A producer that builds rows by hand and truncates its JSON (the writer would refuse this payload).
          const text = JSON.stringify(payloadFor(order, runId));
          const row: EntityRecord = {
            [c.name]: `${SALES_ORDER_WON} opportunity:${order.opportunityId}`,
            [c.messageId]: order.messageId,
            [c.target]: ERP_SALES_QUEUE,
            [c.eventType]: SALES_ORDER_WON,
            [c.payload]: text.slice(0, Math.floor(text.length / 2)),
            [c.contentType]: 'application/json',
            [c.sessionKey]: order.accountId,
            // Built by hand but partition-aware: the slot of the key, so this row and the writer's rows of the same
            // customer are published by one partition, in order (without it the row would fall to partition 0).
            [c.partitionSlot]: partitionSlotOfKey(order.accountId),
            [c.correlationId]: correlationId,
            [c.sourceEntity]: 'opportunity',
            [c.sourceId]: order.opportunityId,
          };
          tx.create(OutboxMessage.entitySetName, row);
          break;
        }
      }
    },
    { abortSignal: signal },
  );
}

/** Runs the demo: creates the opportunities, then wins them at `rate` per second, `concurrency` change sets at a time. */
export async function runDemoProducer(options: DemoProducerOptions): Promise<DemoProducerResult> {
  if (!Number.isInteger(options.orders) || options.orders < 1) throw new RangeError('orders must be a whole number of at least 1.');
  if (!(options.rate > 0)) throw new RangeError('rate must be a positive number of orders per second.');
  const runId = options.runId ?? randomUUID();
  const badPerKind = options.badPerKind ?? Math.max(1, Math.round(options.orders / 200));
  const kinds = planKinds(options.orders, badPerKind);
  const signal = options.abortSignal;
  const startedAt = Date.now();
  const drafts = await createOpportunities(options.client, runId, options.orders, signal);
  const orders: DemoOrder[] = drafts.map((d, index) => ({ ...d, index, kind: kinds[index]!, messageId: `${SALES_ORDER_WON}:${d.opportunityId}` }));

  const writer = new OutboxWriter(options.client);
  const concurrency = Math.max(1, options.concurrency ?? 8);
  const inFlight = new Set<Promise<void>>();
  let committed = 0;
  let failed = 0;
  const t0 = Date.now();
  for (const order of orders) {
    if (signal?.aborted) break;
    await sleep(t0 + (order.index * 1000) / options.rate - Date.now(), signal);
    while (inFlight.size >= concurrency) await Promise.race(inFlight);
    const p = win(writer, order, runId, signal).then(
      () => {
        order.committedAt = Date.now();
        committed++;
      },
      (e: unknown) => {
        order.error = e instanceof Error ? e.message : String(e);
        failed++;
      },
    );
    const tracked = p.finally(() => {
      inFlight.delete(tracked);
      options.onProgress?.({ committed, failed, total: orders.length });
    });
    inFlight.add(tracked);
  }
  await Promise.all(inFlight);
  return { runId, correlationId: correlationIdFor(runId), orders, startedAt, finishedAt: Date.now() };
}

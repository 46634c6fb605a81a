// The chaos run's traffic besides the demo producer: change sets that must roll back (an outbox-flow win whose change set
// fails on purpose), the second order flow through change tracking (opportunities won WITHOUT an outbox row; the
// change-tracking source publishes them), and poison outbox rows. Every change set's outcome as the producer saw it is
// recorded; ambiguous outcomes are settled later by reading the store (resolve.ts), never assumed.
import { randomUUID } from 'node:crypto';
import { OutboxMessage } from '@dataverse-outbox/solution';
import { OutboxWriter, type BatchRequest, type DataverseClient, type EntityRecord } from '@dataverse-outbox/publisher-function';
import { ERP_SALES_QUEUE, NOT_ALLOWED_TARGET } from '../config/localStack';
import { SALES_ORDER_WON } from '../demo/producer';
import type { Random } from './random';

export type ChaosOrderKind =
  // demo producer kinds
  | 'good'
  | 'target-not-allowed'
  | 'malformed-payload'
  | 'oversize-payload'
  // chaos producer kinds
  | 'rollback'
  | 'consumer-poison'
  | 'ct-good'
  | 'ct-rollback';

export interface ChaosOrder {
  flow: 'outbox' | 'change-tracking';
  kind: ChaosOrderKind;
  /** The business row (absent for poison rows, which change nothing else). */
  opportunityId?: string;
  /** obx_messageid of the outbox row (outbox flow). */
  messageId?: string;
  sessionKey?: string;
  /** What the producer saw. */
  seen: 'committed' | 'failed';
  error?: string;
  /** What the store says (resolve.ts): the change set committed, rolled back, or - a bug - only part of it is there. */
  resolved?: 'committed' | 'rolled-back' | 'partial';
}

const c = OutboxMessage.columns;
/** A key no order uses: the change sets that must fail update it with If-Match: * and get 404. */
const MISSING_OPPORTUNITY = '00000000-0000-4000-8000-00000000dead';

export const CHAOS_CORRELATION = 'chaos';

export interface ChaosProducerOptions {
  client: DataverseClient;
  random: Random;
  /** Change-tracking flow orders (each one opportunity won by a plain change set). */
  ctOrders: number;
  /** Outbox-flow change sets that must roll back. */
  rollbacks: number;
  /** Spread over this long. */
  durationMs: number;
  concurrency?: number;
  abortSignal?: AbortSignal;
}

const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    if (ms <= 0 || signal?.aborted) return resolve();
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
  });

const message = (e: unknown): string => (e instanceof Error ? e.message : String(e));

export class ChaosProducer {
  readonly orders: ChaosOrder[] = [];
  private readonly writer: OutboxWriter;
  private plan: { order: ChaosOrder; at: number }[] = [];

  constructor(private readonly options: ChaosProducerOptions) {
    this.writer = new OutboxWriter(options.client);
  }

  /** Creates the opportunities this producer will win (before the faults start). */
  async setup(): Promise<void> {
    const { client, random } = this.options;
    const tag = randomUUID().slice(0, 8);
    const [accountId] = await client.createMultiple('accounts', 'account', [{ name: `Chaos customer (${tag})` }]);
    const total = this.options.ctOrders + this.options.rollbacks;
    const ids: string[] = [];
    for (let i = 0; i < total; i += 500) {
      const n = Math.min(500, total - i);
      ids.push(
        ...(await client.createMultiple(
          'opportunities',
          'opportunity',
          Array.from({ length: n }, (_, j) => ({
            name: `Chaos ${tag} #${i + j + 1}`,
            estimatedvalue: 1000 + i + j,
            'parentaccountid@odata.bind': `/accounts(${accountId})`,
          })),
        )),
      );
    }
    const kinds: ChaosOrderKind[] = [
      ...Array.from({ length: this.options.ctOrders }, (): ChaosOrderKind => 'ct-good'),
      ...Array.from({ length: this.options.rollbacks }, (): ChaosOrderKind => 'rollback'),
    ];
    // A few change-tracking orders roll back too (about 1 in 25).
    const shuffled = random.shuffle(kinds).map((k) => (k === 'ct-good' && random.chance(0.04) ? 'ct-rollback' : k));
    this.plan = shuffled.map((kind, i) => ({
      at: ((i + 0.5) * this.options.durationMs) / Math.max(1, shuffled.length),
      order: {
        flow: kind === 'rollback' ? 'outbox' : 'change-tracking',
        kind,
        opportunityId: ids[i]!,
        ...(kind === 'rollback' ? { messageId: `${SALES_ORDER_WON}:${ids[i]}`, sessionKey: accountId } : {}),
        seen: 'failed',
      },
    }));
  }

  /** Runs the planned change sets at their times, `concurrency` at once. */
  async run(): Promise<void> {
    const t0 = Date.now();
    const inFlight = new Set<Promise<void>>();
    const concurrency = this.options.concurrency ?? 4;
    for (const { order, at } of this.plan) {
      if (this.options.abortSignal?.aborted) break;
      await sleep(t0 + at - Date.now(), this.options.abortSignal);
      while (inFlight.size >= concurrency) await Promise.race(inFlight);
      this.orders.push(order);
      const p = this.commit(order).finally(() => inFlight.delete(p));
      inFlight.add(p);
    }
    await Promise.all(inFlight);
  }

  private async commit(order: ChaosOrder): Promise<void> {
    const won = { statecode: 1, statuscode: 3, actualvalue: 1234.5, actualclosedate: new Date().toISOString().slice(0, 10) };
    try {
      if (order.kind === 'rollback') {
        // Win + outbox row + a request that fails (404): the change set must leave neither behind.
        await this.writer.transaction((tx) => {
          tx.update('opportunities', order.opportunityId!, won);
          tx.enqueue({
            target: ERP_SALES_QUEUE,
            eventType: SALES_ORDER_WON,
            messageId: order.messageId!,
            sessionKey: order.sessionKey,
            correlationId: CHAOS_CORRELATION,
            sourceEntity: 'opportunity',
            sourceId: order.opportunityId,
            payload: { schemaVersion: 1, opportunityId: order.opportunityId, customer: 'Chaos customer', amount: 1234.5 },
          });
          tx.update('opportunities', MISSING_OPPORTUNITY, { description: 'never' });
        });
      } else {
        const requests: BatchRequest[] = [{ method: 'PATCH', url: `opportunities(${order.opportunityId})`, body: won, headers: { 'If-Match': '*' } }];
        if (order.kind === 'ct-rollback') requests.push({ method: 'PATCH', url: `opportunities(${MISSING_OPPORTUNITY})`, body: { description: 'never' }, headers: { 'If-Match': '*' } });
        await this.options.client.executeChangeSet(requests);
      }
      order.seen = 'committed';
    } catch (e) {
      order.seen = 'failed';
      order.error = message(e);
    }
  }

  /** Inserts poison rows now (each in its own change set). */
  async insertPoison(counts: { consumerRejects: number; targetNotAllowed: number; malformed: number }): Promise<void> {
    const jobs: Promise<void>[] = [];
    const add = (kind: ChaosOrderKind, build: (messageId: string, key: string) => (tx: Parameters<Parameters<OutboxWriter['transaction']>[0]>[0]) => void): void => {
      const messageId = `ChaosPoison:${randomUUID()}`;
      const key = `poison-${messageId.slice(-12)}`;
      const order: ChaosOrder = { flow: 'outbox', kind, messageId, sessionKey: key, seen: 'failed' };
      this.orders.push(order);
      jobs.push(
        this.writer.transaction(build(messageId, key)).then(
          () => void (order.seen = 'committed'),
          (e: unknown) => void ((order.seen = 'failed'), (order.error = message(e))),
        ),
      );
    };
    const common = (messageId: string, key: string) => ({ eventType: SALES_ORDER_WON, messageId, sessionKey: key, correlationId: CHAOS_CORRELATION });
    for (let i = 0; i < counts.consumerRejects; i++) {
      // Valid JSON the ERP refuses (ValidationFailed): dead-lettered by the consumer, acknowledged `rejected`.
      add('consumer-poison', (id, key) => (tx) => void tx.enqueue({ ...common(id, key), target: ERP_SALES_QUEUE, payload: { schemaVersion: 1, opportunityId: '', customer: 'Poison', amount: -1 } }));
    }
    for (let i = 0; i < counts.targetNotAllowed; i++) {
      add('target-not-allowed', (id, key) => (tx) => void tx.enqueue({ ...common(id, key), target: NOT_ALLOWED_TARGET, payload: { schemaVersion: 1 } }));
    }
    for (let i = 0; i < counts.malformed; i++) {
      add('malformed-payload', (id, key) => (tx) => {
        const row: EntityRecord = {
          [c.name]: `Poison ${id}`,
          [c.messageId]: id,
          [c.target]: ERP_SALES_QUEUE,
          [c.eventType]: SALES_ORDER_WON,
          [c.payload]: '{"schemaVersion":1,"opportunityId":',
          [c.contentType]: 'application/json',
          [c.sessionKey]: key,
          [c.correlationId]: CHAOS_CORRELATION,
        };
        tx.create(OutboxMessage.entitySetName, row);
      });
    }
    await Promise.all(jobs);
  }
}

// The chaos run's traffic besides the demo producer: change sets that must roll back (an outbox-flow win whose change set
// fails on purpose), the second order flow through change tracking (opportunities won WITHOUT an outbox row; the
// change-tracking source publishes them), and poison outbox rows. Every change set's outcome as the producer saw it is
// recorded; ambiguous outcomes are settled later by reading the store (resolve.ts), never assumed.
import { randomUUID } from 'node:crypto';
import { OutboxMessage } from '@dataverse-outbox/contract';
import { type BatchRequest, type DataverseClient, type EntityRecord } from '@dataverse-outbox/publisher-function';
import { OutboxWriter } from '@dataverse-outbox/producer';
import { ERP_SALES_QUEUE, NOT_ALLOWED_TARGET, SALES_ORDER_WON } from '@dataverse-outbox/stack';
import { BLOCKED_EVENT_TYPE, BLOCKED_QUEUE } from './blockedKey';
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
  | 'ct-rollback'
  // rows of the fault kinds (issue 17)
  | 'deep-nesting'
  | 'whitespace-target'
  | 'whitespace-follower'
  | 'blocked-head'
  | 'blocked-follower';

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
  /** Epoch ms when the producer saw its change set commit (latency figures). */
  committedAt?: number;
  /** The row's obx_target as written (whitespace targets). */
  target?: string;
}

/** One blocked-key action: the key, its head row, and when the head's target started and stopped refusing attaches. */
export interface BlockedKeyWindow {
  sessionKey: string;
  headMessageId: string;
  rows: number;
  /** Epoch ms: head row committed. */
  startedAt: number;
  /** Epoch ms: the target accepts attaches again. */
  refusalEndsAt: number;
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

  /** A raw row, as a plug-in, a flow or a raw Web API call writes it (none of the writer's checks). */
  private rawRow(messageId: string, target: string, payload: string, sessionKey: string, eventType = SALES_ORDER_WON): EntityRecord {
    return {
      [c.name]: `Chaos ${messageId}`.slice(0, 200),
      [c.messageId]: messageId,
      [c.target]: target,
      [c.eventType]: eventType,
      [c.payload]: payload,
      [c.contentType]: 'application/json',
      [c.sessionKey]: sessionKey,
      [c.correlationId]: CHAOS_CORRELATION,
    };
  }

  /**
   * Writes one fault row, trying again for a while when Dataverse is down or faulted (a fault row that never gets written
   * proves nothing). A retry after a lost answer meets the row's alternate key: the store settles it either way.
   */
  private async insertOne(order: ChaosOrder, row: EntityRecord): Promise<void> {
    this.orders.push(order);
    for (let attempt = 1; ; attempt++) {
      try {
        await this.writer.transaction((tx) => void tx.create(OutboxMessage.entitySetName, row));
        order.seen = 'committed';
        order.committedAt = Date.now();
        return;
      } catch (e) {
        order.seen = 'failed';
        order.error = message(e);
        if (attempt >= 5 || this.options.abortSignal?.aborted) return;
        await sleep(1000 * attempt, this.options.abortSignal);
      }
    }
  }

  /** Rows whose JSON payload nests `depth` deep (arrays and objects in turn): each must end Failed with a depth reason. */
  async insertDeepNesting(rows: number, depth: number): Promise<void> {
    const jobs: Promise<void>[] = [];
    for (let i = 0; i < rows; i++) {
      const messageId = `ChaosDeep:${randomUUID()}`;
      const key = `deep-${messageId.slice(-12)}`;
      const payload = i % 2 === 0 ? `${'['.repeat(depth)}${']'.repeat(depth)}` : `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
      jobs.push(this.insertOne({ flow: 'outbox', kind: 'deep-nesting', messageId, sessionKey: key, seen: 'failed', target: ERP_SALES_QUEUE }, this.rawRow(messageId, ERP_SALES_QUEUE, payload, key)));
    }
    await Promise.all(jobs);
  }

  /**
   * Rows whose target is the ERP queue's name with whitespace around it, each followed on its own key by a good row: the
   * first must publish to the trimmed entity or fail with a clear reason, and never hold its key for long.
   */
  async insertWhitespaceTargets(targets: readonly string[]): Promise<void> {
    await Promise.all(
      targets.map(async (target) => {
        const id = randomUUID();
        const key = `ws-${id.slice(-12)}`;
        const payload = (who: string): string => JSON.stringify({ schemaVersion: 1, opportunityId: randomUUID(), customer: who, amount: 1 });
        const messageId = `ChaosWhitespace:${id}`;
        await this.insertOne({ flow: 'outbox', kind: 'whitespace-target', messageId, sessionKey: key, seen: 'failed', target }, this.rawRow(messageId, target, payload('Whitespace target'), key));
        const follower = `ChaosWhitespaceNext:${id}`;
        await this.insertOne({ flow: 'outbox', kind: 'whitespace-follower', messageId: follower, sessionKey: key, seen: 'failed', target: ERP_SALES_QUEUE }, this.rawRow(follower, ERP_SALES_QUEUE, payload('Behind a whitespace target'), key));
      }),
    );
  }

  /**
   * One key blocked: its head row (to BLOCKED_QUEUE, which must already refuse attaches), then `rows` rows behind it on
   * the same key, written with CreateMultiple in chunks (in obx_sequence order). Returns the window for the checker.
   */
  async insertBlockedKey(rows: number, refusalEndsAt: number): Promise<BlockedKeyWindow> {
    const id = randomUUID();
    const key = `blocked-${id.slice(-12)}`;
    const payload = (n: number): string => JSON.stringify({ schemaVersion: 1, n });
    const headMessageId = `ChaosBlockedHead:${id}`;
    const startedAt = Date.now();
    await this.insertOne({ flow: 'outbox', kind: 'blocked-head', messageId: headMessageId, sessionKey: key, seen: 'failed', target: BLOCKED_QUEUE }, this.rawRow(headMessageId, BLOCKED_QUEUE, payload(0), key, BLOCKED_EVENT_TYPE));
    for (let i = 0; i < rows; i += 500) {
      const chunk: { order: ChaosOrder; row: EntityRecord }[] = [];
      for (let j = i; j < Math.min(rows, i + 500); j++) {
        const messageId = `ChaosBlocked:${id}:${j + 1}`;
        chunk.push({ order: { flow: 'outbox', kind: 'blocked-follower', messageId, sessionKey: key, seen: 'failed', target: BLOCKED_QUEUE }, row: this.rawRow(messageId, BLOCKED_QUEUE, payload(j + 1), key, BLOCKED_EVENT_TYPE) });
      }
      this.orders.push(...chunk.map((x) => x.order));
      try {
        await this.options.client.createMultiple(OutboxMessage.entitySetName, OutboxMessage.logicalName, chunk.map((x) => x.row));
        const at = Date.now();
        for (const x of chunk) Object.assign(x.order, { seen: 'committed', committedAt: at });
      } catch (e) {
        // Settled later from the store (CreateMultiple is all or nothing; the answer may have been lost).
        for (const x of chunk) x.order.error = message(e);
      }
    }
    return { sessionKey: key, headMessageId, rows, startedAt, refusalEndsAt };
  }
}

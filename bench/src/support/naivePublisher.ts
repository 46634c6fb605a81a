// The naive baseline, following the reference article's design literally: poll the outbox for pending rows, then for
// each row send one message and PATCH that one row to Published. It uses the same Dataverse client as the product
// (429 Retry-After honoured), so only the design differs. `concurrency` > 1 is the most favourable variant of it
// (rows handled in parallel), used to show the ceiling that service protection limits put on any per-row design.
import type { ServiceBusClient, ServiceBusSender } from '@azure/service-bus';
import { DataverseOutboxStore, odataLiteral, type DataverseClient } from '@dataverse-outbox/publisher-function';
import { MessageProperties, OutboxMessage, OutboxStatus } from '@dataverse-outbox/contract';
import { TARGET } from './world';

const C = OutboxMessage.columns;

export interface NaivePublisherOptions {
  dataverse: DataverseClient;
  serviceBus: ServiceBusClient;
  /** Rows read per poll. Default 50. */
  pollSize?: number;
  /** Wait between polls when nothing was found (the article's timer). Default 1 s. */
  pollIntervalInMs?: number;
  /** Rows handled at once. Default 1 (the article). */
  concurrency?: number;
  onPublished?: (count: number) => void;
}

export class NaivePublisher {
  private stopping = false;
  private loop?: Promise<void>;
  private sender?: ServiceBusSender;
  /** Ends the current idle wait (stop() would otherwise wait out the poll timer). */
  private wakeUp?: () => void;
  published = 0;

  constructor(private readonly options: NaivePublisherOptions) {}

  start(): void {
    this.sender = this.options.serviceBus.createSender(TARGET);
    this.loop = this.run();
  }

  private async run(): Promise<void> {
    const store = new DataverseOutboxStore(this.options.dataverse);
    const concurrency = this.options.concurrency ?? 1;
    while (!this.stopping) {
      const rows = await store.readDue({ now: new Date(), top: this.options.pollSize ?? 50 });
      if (rows.length === 0) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, this.options.pollIntervalInMs ?? 1000);
          this.wakeUp = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        this.wakeUp = undefined;
        continue;
      }
      let next = 0;
      await Promise.all(
        Array.from({ length: concurrency }, async () => {
          while (!this.stopping && next < rows.length) {
            const row = rows[next++]!;
            await this.sender!.sendMessages({
              messageId: row.messageId,
              body: row.payload ? (JSON.parse(row.payload) as unknown) : null,
              contentType: 'application/json',
              subject: row.eventType,
              applicationProperties: { [MessageProperties.outboxId]: row.id, [MessageProperties.outboxMessageId]: row.messageId },
            });
            await this.options.dataverse.update(OutboxMessage.entitySetName, row.id, {
              [C.status]: OutboxStatus.Published,
              [C.publishedOn]: odataLiteral(new Date()),
              [C.attempts]: row.attempts + 1,
            });
            this.published++;
            this.options.onPublished?.(1);
          }
        }),
      );
    }
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.wakeUp?.();
    await this.loop?.catch(() => undefined);
    await this.sender?.close();
  }
}

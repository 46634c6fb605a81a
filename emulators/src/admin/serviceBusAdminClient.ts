// Client of the Service Bus emulator's admin endpoint (ServiceBusEmulator.adminUrl, see servicebus/admin/AdminServer.ts):
// entity counts, dead letters, runtime entities and connection/attach/send faults, for harnesses in another process
// (chaos run, benchmarks, tests). The same operations as the programmatic ServiceBusEmulatorAdmin, typed with its own
// types (RemoteAdmin keeps the two equal).
import type { ShortQueueConfig, ShortTopicConfig } from '../servicebus/configuration/EmulatorConfig';
import type { DroppedDuplicate, EntitySummary } from '../servicebus/core/Broker';
import type { DelaySendsOptions, FaultsSnapshot, RefuseAttachesOptions } from '../servicebus/admin/FaultInjector';
import type { DeadLetteredMessage, ServiceBusEmulatorAdmin } from '../servicebus/admin/ServiceBusEmulatorAdmin';
import { adminCall, trimBase, type AdminClientOptions, type RemoteAdmin } from './remote';

export class ServiceBusAdminClient implements RemoteAdmin<ServiceBusEmulatorAdmin> {
  private readonly base: string;
  private readonly timeoutMs: number;

  /** `adminUrl`: the emulator's admin endpoint (ServiceBusEmulator.adminUrl, e.g. `http://127.0.0.1:5301`). */
  constructor(adminUrl: string, options: AdminClientOptions = {}) {
    this.base = trimBase(adminUrl);
    this.timeoutMs = options.timeoutMs ?? 10_000;
  }

  private async call<T>(method: string, route: string, body?: unknown): Promise<T> {
    return (await adminCall(method, `${this.base}/${route}`, { body, timeoutMs: this.timeoutMs })).body as T;
  }

  /** True when the emulator answers its health route. */
  async health(): Promise<boolean> {
    return (await this.call<{ status: string }>('GET', 'health')).status === 'ok';
  }

  async listEntities(): Promise<EntitySummary[]> {
    return (await this.call<{ entities: EntitySummary[] }>('GET', 'entities')).entities;
  }

  /** Dead-lettered messages of a queue or subscription (`topic/Subscriptions/sub`), oldest first; nothing is removed. */
  async peekDeadLetters(entity: string, maxCount = 100): Promise<DeadLetteredMessage[]> {
    return (await this.call<{ messages: DeadLetteredMessage[] }>('GET', `entities/${encodeURIComponent(entity)}/deadletters?max=${maxCount}`)).messages;
  }

  /** Sends of a queue or topic that duplicate detection dropped, oldest first. */
  async droppedDuplicates(entity: string, maxCount = 10_000): Promise<DroppedDuplicate[]> {
    return (await this.call<{ dropped: DroppedDuplicate[] }>('GET', `entities/${encodeURIComponent(entity)}/duplicates?max=${maxCount}`)).dropped;
  }

  /** Closes every client connection abruptly; resolves with how many were open. */
  async dropAllConnections(): Promise<number> {
    return (await this.call<{ dropped: number }>('POST', 'faults/drop-connections')).dropped;
  }

  async refuseAttaches(options: RefuseAttachesOptions): Promise<void> {
    await this.call('POST', 'faults/refuse-attaches', options);
  }

  async delaySends(options: DelaySendsOptions): Promise<void> {
    await this.call('POST', 'faults/delay-sends', options);
  }

  async clearFaults(): Promise<void> {
    await this.call('DELETE', 'faults');
  }

  async faults(): Promise<FaultsSnapshot> {
    return this.call<FaultsSnapshot>('GET', 'faults');
  }

  async addQueue(queue: ShortQueueConfig): Promise<void> {
    await this.call('POST', 'entities', { queue });
  }

  async addTopic(topic: ShortTopicConfig): Promise<void> {
    await this.call('POST', 'entities', { topic });
  }
}

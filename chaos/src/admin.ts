// Thin clients of the emulators' admin endpoints (fault injection, entity counts, dead letters). JSON over HTTP on
// 127.0.0.1; no token (the admin endpoints are local-only by design), every call with the admin header writes need.
import { ADMIN_WRITE_HEADER } from '@dataverse-outbox/emulators/servicebus';

export interface DataverseFaultRule {
  kind: '429' | '503' | 'timeout' | 'drop';
  count?: number;
  rate?: number;
  entitySet?: string;
  method?: string;
  phase?: 'before' | 'after';
  retryAfterSeconds?: number;
  timeoutMs?: number;
}

export interface EntityCounts {
  name: string;
  kind: 'queue' | 'subscription';
  activeMessageCount: number;
  scheduledMessageCount: number;
  deferredMessageCount: number;
  lockedMessageCount: number;
  deadLetterMessageCount: number;
}

export interface DeadLetter {
  sequenceNumber: number;
  messageId?: string;
  sessionId?: string;
  deadLetterReason?: string;
  deadLetterErrorDescription?: string;
  deliveryCount: number;
  body: unknown;
}

async function call<T>(method: string, url: string, body?: unknown, timeoutMs = 10_000): Promise<T> {
  const res = await fetch(url, {
    method,
    headers: { [ADMIN_WRITE_HEADER]: '1', ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${url} -> ${res.status} ${text.slice(0, 300)}`);
  return (text ? JSON.parse(text) : undefined) as T;
}

export class DataverseAdmin {
  constructor(private readonly baseUrl: string) {}

  async injectFault(rule: DataverseFaultRule): Promise<string> {
    const r = await call<{ id: string }>('POST', `${this.baseUrl}/_admin/faults`, rule);
    return r.id;
  }

  async removeFault(id: string): Promise<void> {
    await call('DELETE', `${this.baseUrl}/_admin/faults/${encodeURIComponent(id)}`).catch(() => undefined); // gone already (count used up, restart)
  }

  async clearFaults(): Promise<void> {
    await call('DELETE', `${this.baseUrl}/_admin/faults`);
  }
}

export class ServiceBusAdmin {
  constructor(private readonly baseUrl: string) {}

  async dropAllConnections(): Promise<number> {
    return (await call<{ dropped: number }>('POST', `${this.baseUrl}/faults/drop-connections`)).dropped;
  }

  async refuseAttaches(options: { durationInMs: number; entity?: string }): Promise<void> {
    await call('POST', `${this.baseUrl}/faults/refuse-attaches`, options);
  }

  async delaySends(options: { delayInMs: number; durationInMs?: number; entity?: string }): Promise<void> {
    await call('POST', `${this.baseUrl}/faults/delay-sends`, options);
  }

  async clearFaults(): Promise<void> {
    await call('DELETE', `${this.baseUrl}/faults`);
  }

  async listEntities(): Promise<EntityCounts[]> {
    return (await call<{ entities: EntityCounts[] }>('GET', `${this.baseUrl}/entities`)).entities;
  }

  async peekDeadLetters(entity: string, max = 5000): Promise<DeadLetter[]> {
    return (await call<{ messages: DeadLetter[] }>('GET', `${this.baseUrl}/entities/${encodeURIComponent(entity)}/deadletters?max=${max}`)).messages;
  }
}

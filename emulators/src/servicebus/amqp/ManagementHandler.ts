// `<entity>/$management` operations the SDK uses: peek, lock renewal, scheduling, deferred receive, settlement of
// deferred messages, session lock/state, session listing and subscription rules (enumerate, add, remove). Request and
// reply bodies are AMQP maps (see the SDK's core/managementClient.js).
import { types, type Connection, type Message } from 'rhea';
import type { Broker, Delivery, Disposition } from '../core/Broker';
import type { ReceiveQueue } from '../core/ReceiveQueue';
import { brokerErrors } from '../errors/BrokerError';
import { decodeMessage, encodeForDelivery, lockTokenFromUuid, lockTokenToUuid, longToNumber, toIncomingMessage } from './codec';
import { reply, replyError, type ReplyOptions } from './replies';
import { ruleFromAddRequest, ruleToWire } from './ruleDescriptions';

const management: ReplyOptions = { statusKey: 'statusCode', descriptionKey: 'statusDescription' };
const operations = {
  peek: 'com.microsoft:peek-message',
  renewLock: 'com.microsoft:renew-lock',
  schedule: 'com.microsoft:schedule-message',
  cancelScheduled: 'com.microsoft:cancel-scheduled-message',
  receiveBySequenceNumber: 'com.microsoft:receive-by-sequence-number',
  updateDisposition: 'com.microsoft:update-disposition',
  renewSessionLock: 'com.microsoft:renew-session-lock',
  setSessionState: 'com.microsoft:set-session-state',
  getSessionState: 'com.microsoft:get-session-state',
  listSessions: 'com.microsoft:get-message-sessions',
  enumerateRules: 'com.microsoft:enumerate-rules',
  addRule: 'com.microsoft:add-rule',
  removeRule: 'com.microsoft:remove-rule',
} as const;

type Body = Record<string, unknown>;

function list(value: unknown): unknown[] {
  if (Array.isArray(value)) return value;
  if (value === undefined || value === null) return [];
  return [value];
}

function optionalString(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

export class ManagementHandler {
  constructor(
    private readonly broker: Broker,
    /** Hook for the "delay sends" fault: resolves when a send to the entity may be acknowledged. */
    private readonly beforeSendAck: (entityPath: string) => Promise<void>,
  ) {}

  /** Handles one request addressed to `<entityPath>/$management`. */
  async handle(connection: Connection, entityPath: string, request: Message): Promise<void> {
    const operation = (request.application_properties as Record<string, unknown> | undefined)?.operation;
    const body = (request.body && typeof request.body === 'object' ? request.body : {}) as Body;
    try {
      if (!this.broker.entityExists(entityPath)) throw brokerErrors.entityNotFound(entityPath);
      switch (operation) {
        case operations.peek:
          return this.peek(connection, request, entityPath, body);
        case operations.renewLock: {
          const expirations = this.broker.renewLocks(list(body['lock-tokens']).map(lockTokenFromUuid));
          return reply(connection, request, 200, { expirations: types.wrap_array(expirations.map((e) => new Date(e).getTime()), 0x83, undefined) }, management);
        }
        case operations.schedule:
          return await this.schedule(connection, request, entityPath, body);
        case operations.cancelScheduled: {
          const key = this.broker.sendEntity(entityPath);
          await this.broker.cancelScheduled(key, list(body['sequence-numbers']).map(longToNumber));
          return reply(connection, request, 200, {}, management);
        }
        case operations.receiveBySequenceNumber:
          return this.receiveDeferred(connection, request, entityPath, body);
        case operations.updateDisposition:
          return await this.updateDisposition(connection, request, body);
        case operations.renewSessionLock: {
          const until = this.broker.renewSessionLock(this.queue(entityPath), this.sessionId(body));
          return reply(connection, request, 200, { expiration: new Date(until) }, management);
        }
        case operations.setSessionState: {
          const state = body['session-state'];
          await this.broker.setSessionState(this.queue(entityPath), this.sessionId(body), Buffer.isBuffer(state) ? state : undefined);
          return reply(connection, request, 200, {}, management);
        }
        case operations.getSessionState: {
          const state = this.broker.getSessionState(this.queue(entityPath), this.sessionId(body));
          return reply(connection, request, 200, { 'session-state': state ?? null }, management);
        }
        case operations.listSessions: {
          const skip = typeof body.skip === 'number' ? body.skip : 0;
          const top = typeof body.top === 'number' ? body.top : Number.MAX_SAFE_INTEGER;
          const ids = this.broker.listSessions(this.queue(entityPath)).slice(skip, skip + top);
          if (ids.length === 0) return reply(connection, request, 204, { skip, 'sessions-ids': [] }, management);
          return reply(connection, request, 200, { skip: skip + ids.length, 'sessions-ids': ids }, management);
        }
        case operations.enumerateRules:
          return this.enumerateRules(connection, request, entityPath, body);
        case operations.addRule:
          await this.broker.addRule(entityPath, ruleFromAddRequest(body, Date.now()));
          return reply(connection, request, 200, {}, management);
        case operations.removeRule: {
          const name = body['rule-name'];
          if (typeof name !== 'string') throw brokerErrors.argument("The request must name a 'rule-name'.");
          await this.broker.removeRule(entityPath, name);
          return reply(connection, request, 200, {}, management);
        }
        default:
          return reply(connection, request, 501, null, management, `The operation '${String(operation)}' is not supported by the emulator.`, 'amqp:not-implemented');
      }
    } catch (error) {
      replyError(connection, request, error, management);
    }
  }

  private queue(entityPath: string): ReceiveQueue {
    return this.broker.receiveQueue(entityPath);
  }

  private sessionId(body: Body): string {
    const id = optionalString(body['session-id']);
    if (id === undefined) throw brokerErrors.argument('The request must name a session-id.');
    return id;
  }

  /** A page of the subscription's rules (`skip`, `top`); 204 with no rules once the list is exhausted. */
  private enumerateRules(connection: Connection, request: Message, entityPath: string, body: Body): void {
    const skip = typeof body.skip === 'number' && body.skip > 0 ? body.skip : 0;
    const top = typeof body.top === 'number' && body.top > 0 ? body.top : Number.MAX_SAFE_INTEGER;
    const page = this.broker.listRules(entityPath).slice(skip, skip + top);
    if (page.length === 0) return reply(connection, request, 204, { rules: [] }, management);
    reply(connection, request, 200, { rules: page.map(ruleToWire) }, management);
  }

  private peek(connection: Connection, request: Message, entityPath: string, body: Body): void {
    const from = longToNumber(body['from-sequence-number'] ?? 1);
    const count = typeof body['message-count'] === 'number' ? body['message-count'] : 1;
    const deliveries = this.broker.peek(this.queue(entityPath), from, count, optionalString(body['session-id']));
    if (deliveries.length === 0) return reply(connection, request, 204, { messages: [] }, management);
    // A peeked message shows its lock expiry only while locked; its delivery count is the number of deliveries so far.
    reply(connection, request, 200, { messages: deliveries.map((d) => ({ message: encodeForDelivery(d) })) }, management);
  }

  private async schedule(connection: Connection, request: Message, entityPath: string, body: Body): Promise<void> {
    const key = this.broker.sendEntity(entityPath);
    const parsed = list(body.messages).map((entry) => {
      const encoded = (entry as Body).message;
      if (!Buffer.isBuffer(encoded)) throw new TypeError('each scheduled entry must carry an encoded message');
      return toIncomingMessage(encoded, decodeMessage(encoded));
    });
    const sequenceNumbers = await this.broker.send(key, parsed);
    await this.beforeSendAck(entityPath);
    reply(connection, request, 200, { 'sequence-numbers': types.wrap_array(sequenceNumbers.map((s) => s ?? 0), 0x81, undefined) }, management);
  }

  private receiveDeferred(connection: Connection, request: Message, entityPath: string, body: Body): void {
    const mode = body['receiver-settle-mode'] === 0 ? 'receiveAndDelete' : 'peekLock';
    const deliveries = this.broker.receiveDeferred(
      this.queue(entityPath),
      list(body['sequence-numbers']).map(longToNumber),
      mode,
      optionalString(body['session-id']),
    );
    reply(
      connection,
      request,
      200,
      {
        messages: deliveries.map((d: Delivery) => ({
          'lock-token': d.lockToken ? lockTokenToUuid(d.lockToken) : null,
          message: encodeForDelivery(d, true),
        })),
      },
      management,
    );
  }

  private async updateDisposition(connection: Connection, request: Message, body: Body): Promise<void> {
    const status = body['disposition-status'];
    const edits = body['properties-to-modify'];
    const propertiesToModify = edits && typeof edits === 'object' && !Array.isArray(edits) && !Buffer.isBuffer(edits) ? (edits as Record<string, unknown>) : undefined;
    let disposition: Disposition;
    switch (status) {
      case 'completed':
        disposition = { kind: 'complete' };
        break;
      case 'abandoned':
        disposition = { kind: 'abandon', propertiesToModify };
        break;
      case 'defered':
      case 'deferred':
        disposition = { kind: 'defer', propertiesToModify };
        break;
      case 'suspended':
        disposition = {
          kind: 'deadletter',
          reason: optionalString(body['deadletter-reason']),
          description: optionalString(body['deadletter-description']),
          propertiesToModify,
        };
        break;
      default:
        throw brokerErrors.argument(`Unknown disposition-status '${String(status)}'.`);
    }
    for (const token of list(body['lock-tokens']).map(lockTokenFromUuid)) {
      await this.broker.settle(token, disposition);
    }
    reply(connection, request, 200, {}, management);
  }
}

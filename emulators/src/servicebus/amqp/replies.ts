// Request/response over AMQP ($cbs and <entity>/$management): replies go back on the server-side sender the client
// attached with the request's reply-to address, correlated by the request's message-id. A request without reply-to
// (uamqp's CBS put-token) is answered on the client's receiving link from the same node, as Service Bus does.
import { types, type Connection, type Message, type Sender } from 'rhea';
import { amqpConditionFor, isBrokerError } from '../errors/BrokerError';
import { internals } from './rheaInternals';

const replyLinks = new WeakMap<Connection, Map<string, Sender>>();

const nodeKey = (node: string): string => `node:${node.toLowerCase()}`;

/** Remembers a sender the client opened to receive replies (keyed by link name, target address and source node). */
export function registerReplyLink(connection: Connection, sender: Sender): void {
  let links = replyLinks.get(connection);
  if (!links) {
    links = new Map();
    replyLinks.set(connection, links);
  }
  const remote = internals(sender).remote.attach;
  if (remote?.name) links.set(remote.name, sender);
  if (remote?.target?.address) links.set(remote.target.address, sender);
  if (remote?.source?.address) links.set(nodeKey(remote.source.address), sender);
}

/** The request itself when it names its reply-to; otherwise a copy that names the client's reply link on `node`. */
export function withReplyTo(connection: Connection, request: Message, node: string): Message {
  if (typeof request.reply_to === 'string' && request.reply_to !== '') return request;
  const sender = replyLinks.get(connection)?.get(nodeKey(node));
  const name = sender ? internals(sender).remote.attach?.name : undefined;
  return name ? { ...request, reply_to: name } : request;
}

export function unregisterReplyLink(connection: Connection, sender: Sender): void {
  const links = replyLinks.get(connection);
  if (!links) return;
  for (const [key, value] of links) if (value === sender) links.delete(key);
}

export interface ReplyOptions {
  /** Name of the status application properties: CBS uses "status-code", management "statusCode". */
  statusKey: 'status-code' | 'statusCode';
  descriptionKey: 'status-description' | 'statusDescription';
}

export function reply(connection: Connection, request: Message, status: number, body: unknown, options: ReplyOptions, description = '', condition?: string): void {
  const replyTo = typeof request.reply_to === 'string' ? request.reply_to : undefined;
  const sender = replyTo ? replyLinks.get(connection)?.get(replyTo) : undefined;
  if (!sender || !sender.is_open()) return; // the client went away; nothing to answer
  // The request-response convention types the status code as an AMQP int (uamqp refuses a uint); rhea would pick uint.
  const applicationProperties: Record<string, unknown> = { [options.statusKey]: types.wrap_int(status), [options.descriptionKey]: description };
  if (condition) applicationProperties['error-condition'] = condition;
  sender.send({ correlation_id: request.message_id, application_properties: applicationProperties, body });
}

/** Answers a failed request with the status and condition Service Bus uses for the error. */
export function replyError(connection: Connection, request: Message, error: unknown, options: ReplyOptions): void {
  if (isBrokerError(error)) {
    const { condition, status } = amqpConditionFor(error.code);
    reply(connection, request, status, null, options, error.message, condition);
    return;
  }
  const message = error instanceof Error ? error.message : String(error);
  const status = error instanceof TypeError ? 400 : 500;
  reply(connection, request, status, null, options, message, status === 400 ? 'com.microsoft:argument-error' : 'amqp:internal-error');
}

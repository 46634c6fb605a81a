// The AMQP 1.0 listener. The whole request pipeline is assembled here, in order:
//   bytes: FrameGuard checks protocol headers and frame sizes before rhea buffers anything (512 bytes until open,
//      then the max-frame-size advertised here); the open frame must come within the handshake timeout
//   connection: plain TCP (what the JS SDK uses with UseDevelopmentEmulator=true) or TLS (optional listener, for SDKs
//      that always dial amqps); SASL MSSBCBS, PLAIN (checked against the emulator's SAS key), ANONYMOUS, EXTERNAL
//   -> link attach: route by address ($cbs, <entity>/$management, entity, entity/$DeadLetterQueue), fault check,
//      entity lookup (unknown -> amqp:not-found), session lock for session receivers
//   -> transfers: CBS put-token | management operation (accepted first, answered on a later turn) | send to entity
//   -> flow/drain and dispositions on receive links
//   -> detach/disconnect: release what the link held.
import type { AddressInfo, Server, Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { create_container, type Connection, type Container, type EventContext, type Message, type Receiver, type Sender } from 'rhea';
import type { FaultInjector } from '../admin/FaultInjector';
import type { Broker } from '../core/Broker';
import { amqpConditionFor, brokerErrors, isBrokerError, type BrokerError } from '../errors/BrokerError';
import { dotnetTicks } from './codec';
import { FrameGuard, openThenClose, type FrameViolation } from './frameGuard';
import { ManagementHandler } from './ManagementHandler';
import { ReceiveLink } from './ReceiveLink';
import { registerReplyLink, reply, unregisterReplyLink, withReplyTo } from './replies';
import { serviceBusSaslMechanisms, type SharedAccessKey } from './sasl';
import { abortConnection, alwaysAnswerDrain, holdAttach, internals, resumeAttach } from './rheaInternals';
import { SendLink } from './SendLink';

export interface AmqpServerOptions {
  host: string;
  port: number;
  broker: Broker;
  faults: FaultInjector;
  maxMessageSizeInBytes: number;
  /** A connection that has not sent its open frame by then is closed (slow or silent peers). Default 30 s. */
  handshakeTimeoutInMs?: number;
  /** The SAS rule SASL PLAIN clients must present. */
  sas: SharedAccessKey;
  /** A second listener speaking AMQP over TLS (amqps), with this certificate. */
  tls?: { port: number; cert: string; key: string };
}

const containerId = 'servicebus-emulator';
/** Bytes the SASL protocol header takes: what this server answers a peer that sent an unsupported header. */
const saslHeader = Buffer.from([0x41, 0x4d, 0x51, 0x50, 3, 1, 0, 0]);

const cbsAddress = '$cbs';
const managementSuffix = '/$management';
const sessionFilter = 'com.microsoft:session-filter';
const sessionLockedUntil = 'com.microsoft:locked-until-utc';
const clientTimeout = 'com.microsoft:timeout';
/** Service Bus caps the wait for the next available session at 1 minute 5 seconds whatever the client asks. */
const maxSessionWaitInMs = 65_000;

type LinkRole = { kind: 'send'; handler: SendLink } | { kind: 'receive'; handler: ReceiveLink } | { kind: 'cbs' } | { kind: 'management'; entityPath: string } | { kind: 'reply' };

function errorFor(error: unknown): { condition: string; description: string } {
  if (isBrokerError(error)) return { condition: amqpConditionFor(error.code).condition, description: error.message };
  return { condition: 'amqp:internal-error', description: error instanceof Error ? error.message : String(error) };
}

export class AmqpServer {
  private readonly container: Container;
  private readonly servers: Server[] = [];
  private readonly connections = new Set<Connection>();
  private readonly roles = new WeakMap<Sender | Receiver, LinkRole>();
  private readonly linksOf = new WeakMap<Connection, Set<Sender | Receiver>>();
  private readonly management: ManagementHandler;

  constructor(private readonly options: AmqpServerOptions) {
    this.container = create_container({ id: containerId });
    this.container.sasl_server_mechanisms = serviceBusSaslMechanisms(options.sas);
    this.management = new ManagementHandler(options.broker, (path) => this.sendDelay(path));
    this.wire();
  }

  /**
   * The max-frame-size this server advertises in its open and enforces on what it reads. rhea clients (the SDK) never
   * split a transfer across frames, so it leaves room for the largest message several times over.
   */
  get maxFrameSizeInBytes(): number {
    return Math.max(16 * 1024 * 1024, 4 * this.options.maxMessageSizeInBytes);
  }

  /** Starts the plain TCP listener, and the TLS one when configured; resolves with their ports. */
  async listen(): Promise<{ port: number; tlsPort?: number }> {
    const port = await this.listenOn(this.options.port);
    const tls = this.options.tls;
    if (!tls) return { port };
    // A peer that never finishes the TLS handshake is dropped within the same bound as one that never sends open.
    const handshakeTimeout = this.options.handshakeTimeoutInMs ?? 30_000;
    return { port, tlsPort: await this.listenOn(tls.port, { transport: 'tls', cert: tls.cert, key: tls.key, handshakeTimeout }) };
  }

  private async listenOn(
    port: number,
    transport: { transport: 'tls'; cert: string; key: string; handshakeTimeout: number } | { transport: 'tcp' } = { transport: 'tcp' },
  ): Promise<number> {
    const server = this.container.listen({
      ...transport,
      max_frame_size: this.maxFrameSizeInBytes,
      host: this.options.host,
      port,
      // Incoming transfers are accepted only once stored; outgoing deliveries are settled by our own replies.
      // Small frames (dispositions, flows) must not wait for Nagle's algorithm.
      tcp_no_delay: true,
      // Room for unsettled deliveries per session (peekLock receivers holding many locks at once).
      session_buffer_size: 16_384,
      receiver_options: { autoaccept: false },
      sender_options: { autosettle: false, treat_modified_as_released: false },
    } as unknown as Parameters<Container['listen']>[0]) as Server;
    // On TLS the guard reads the decrypted stream: rhea takes the socket at 'secureConnection'.
    server.prependListener(transport.transport === 'tls' ? 'secureConnection' : 'connection', (socket: Socket | TLSSocket) => this.guard(socket));
    // A failed or timed-out TLS handshake leaves the socket open in Node unless someone closes it.
    if (transport.transport === 'tls') server.on('tlsClientError', (_error: Error, socket: TLSSocket) => socket.destroy());
    this.servers.push(server);
    await new Promise<void>((resolve, reject) => {
      server.once('listening', resolve);
      server.once('error', reject);
    });
    return (server.address() as AddressInfo).port;
  }

  /** Closes every client connection abruptly (fault injection); clients see a disconnect and reconnect. */
  dropAllConnections(): number {
    const count = this.connections.size;
    for (const connection of [...this.connections]) this.destroy(connection);
    return count;
  }

  async close(): Promise<void> {
    const servers = this.servers.splice(0);
    for (const connection of [...this.connections]) this.destroy(connection);
    await Promise.all(servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
  }

  /** Puts a FrameGuard in front of rhea's reading of this socket and bounds the time to the open frame. */
  private guard(socket: Socket): void {
    const frames = new FrameGuard(this.maxFrameSizeInBytes);
    let refused = false;
    const emit = socket.emit.bind(socket) as (event: string | symbol, ...args: unknown[]) => boolean;
    (socket as unknown as { emit: typeof emit }).emit = (event, ...args) => {
      if (event === 'data') {
        if (refused) return true;
        const violation = frames.feed(args[0] as Buffer);
        if (violation) {
          refused = true;
          this.refuseConnection(socket, violation, frames.isOpen);
          return true;
        }
      }
      return emit(event, ...args);
    };
    const timeoutInMs = this.options.handshakeTimeoutInMs ?? 30_000;
    const timer = setTimeout(() => {
      if (frames.isOpen || socket.destroyed) return;
      refused = true;
      if (process.env.SB_DEBUG) console.error(`no open frame within ${timeoutInMs} ms: closing`);
      socket.destroy();
    }, timeoutInMs);
    timer.unref();
    socket.once('close', () => clearTimeout(timer));
  }

  /**
   * Closes a connection that broke framing: with a close frame carrying the error where the peer is at the AMQP layer,
   * with this server's protocol header after a bad one, by closing the socket during SASL.
   */
  private refuseConnection(socket: Socket, violation: FrameViolation, opened: boolean): void {
    const error = { condition: violation.condition, description: violation.description };
    const connection = opened ? [...this.connections].find((c) => (c as unknown as { socket?: Socket }).socket === socket) : undefined;
    if (connection) {
      connection.close(error); // rhea writes the close frame on its next turn, then ends the socket itself
    } else {
      if (violation.amqpLayer) socket.write(openThenClose(containerId, error.condition, error.description));
      else if (/protocol header/.test(violation.description)) socket.write(saslHeader);
      socket.end();
    }
    setTimeout(() => socket.destroy(), 1000).unref();
  }

  private destroy(connection: Connection): void {
    this.connections.delete(connection);
    abortConnection(connection);
    // Whatever rhea reported above, the connection's links are gone: release what their receivers held (idempotent).
    this.onDisconnected(connection);
  }

  private sendDelay(path: string): Promise<void> {
    const ms = this.options.faults.sendDelayFor(path);
    return ms > 0 ? new Promise((resolve) => setTimeout(resolve, ms)) : Promise.resolve();
  }

  private wire(): void {
    const c = this.container;
    // Stage 1: connections.
    c.on('connection_open', (ctx: EventContext) => this.connections.add(ctx.connection));
    // A connection closed without detaching its links first loses them all, as a dropped one does.
    c.on('connection_close', (ctx: EventContext) => this.onDisconnected(ctx.connection));
    // Errors raised by peers are handled per link; this keeps rhea from throwing them at the process.
    c.on('error', (e: unknown) => { if (process.env.SB_DEBUG) console.error('container error', e); });
    c.on('connection_error', () => undefined);

    // Stage 2: attaches. A client receiver is a server-side sender and vice versa.
    c.on('sender_open', (ctx: EventContext) => this.onSenderOpen(ctx.sender!, ctx.connection));
    c.on('receiver_open', (ctx: EventContext) => this.onReceiverOpen(ctx.receiver!, ctx.connection));

    // Stage 3: transfers from clients.
    c.on('message', (ctx: EventContext) => this.onMessage(ctx));

    // Stage 5: detach and disconnect.
    c.on('sender_close', (ctx: EventContext) => this.onLinkGone(ctx.sender!, ctx.connection));
    c.on('receiver_close', (ctx: EventContext) => this.onLinkGone(ctx.receiver!, ctx.connection));
    c.on('sender_error', () => undefined);
    c.on('receiver_error', () => undefined);
    c.on('session_error', () => undefined);
    c.on('disconnected', (ctx: EventContext) => this.onDisconnected(ctx.connection));
  }

  private refuse(link: Sender | Receiver, error: BrokerError | Error): void {
    // Service Bus answers a refused attach with an attach without terminus followed by a detach carrying the error.
    const l = internals(link);
    l.local.attach.source = undefined;
    l.local.attach.target = undefined;
    link.close(errorFor(error));
  }

  private track(connection: Connection, link: Sender | Receiver): void {
    let links = this.linksOf.get(connection);
    if (!links) {
      links = new Set();
      this.linksOf.set(connection, links);
    }
    links.add(link);
  }

  private onReceiverOpen(receiver: Receiver, connection: Connection): void {
    this.track(connection, receiver);
    const remote = internals(receiver).remote.attach;
    const address = remote?.target?.address ?? '';
    internals(receiver).set_target(remote?.target ?? null);
    internals(receiver).local.attach.max_message_size = this.options.maxMessageSizeInBytes;
    if (remote?.source) internals(receiver).set_source(remote.source);
    if (address === cbsAddress) {
      this.roles.set(receiver, { kind: 'cbs' });
      return;
    }
    if (address.toLowerCase().endsWith(managementSuffix)) {
      this.roles.set(receiver, { kind: 'management', entityPath: address.slice(0, -managementSuffix.length) });
      return;
    }
    try {
      if (this.options.faults.isAttachRefused(address)) throw brokerErrors.attachRefused(address);
      const key = this.options.broker.sendEntity(address);
      const handler = new SendLink(key, address, this.options.broker, this.options.maxMessageSizeInBytes, (p) => this.sendDelay(p));
      this.roles.set(receiver, { kind: 'send', handler });
    } catch (error) {
      this.refuse(receiver, error as Error);
    }
  }

  private onSenderOpen(sender: Sender, connection: Connection): void {
    this.track(connection, sender);
    const l = internals(sender);
    const remote = l.remote.attach;
    const address = remote?.source?.address ?? '';
    l.set_target(remote?.target ?? null);
    l.local.attach.snd_settle_mode = remote?.snd_settle_mode ?? 0;
    l.local.attach.rcv_settle_mode = remote?.rcv_settle_mode ?? 0;
    if (address === cbsAddress || address.toLowerCase().endsWith(managementSuffix)) {
      l.set_source(remote?.source ?? null);
      this.roles.set(sender, { kind: 'reply' });
      registerReplyLink(connection, sender);
      return;
    }
    alwaysAnswerDrain(sender);
    const broker = this.options.broker;
    const filter = remote?.source?.filter;
    const isSessionReceiver = filter !== undefined && filter !== null && sessionFilter in filter;
    try {
      if (this.options.faults.isAttachRefused(address)) throw brokerErrors.attachRefused(address);
      const queue = broker.receiveQueue(address);
      const mode = remote?.snd_settle_mode === 1 ? 'receiveAndDelete' : 'peekLock';
      const link = new ReceiveLink(sender, broker);
      this.roles.set(sender, { kind: 'receive', handler: link });
      const events = {
        wake: () => link.pump(),
        sessionLockLost: (error: BrokerError) => {
          if (sender.is_open()) sender.close(errorFor(error));
        },
      };
      if (!isSessionReceiver) {
        l.set_source(remote?.source ?? null);
        link.bind(broker.attach(queue, mode, events));
        return;
      }
      const requested = filter[sessionFilter];
      const sessionId = typeof requested === 'string' ? requested : undefined;
      const asked = Number(remote?.properties?.[clientTimeout]);
      const timeout = Math.min(Number.isFinite(asked) && asked > 0 ? asked : 60_000, maxSessionWaitInMs);
      holdAttach(sender);
      broker.attachSession(queue, mode, events, sessionId, timeout).then(
        (consumer) => {
          if (!sender.is_remote_open()) {
            broker.detach(consumer);
            return;
          }
          l.set_source({ ...remote!.source, filter: { [sessionFilter]: consumer.session!.id } });
          l.local.attach.properties = { [sessionLockedUntil]: dotnetTicks(consumer.session!.lockedUntil) };
          resumeAttach(sender);
          link.bind(consumer);
        },
        (error: unknown) => {
          if (!sender.is_remote_open()) return;
          resumeAttach(sender);
          this.refuse(sender, error as Error);
        },
      );
    } catch (error) {
      this.refuse(sender, error as Error);
    }
  }

  private onMessage(ctx: EventContext): void {
    const receiver = ctx.receiver;
    if (!receiver) return;
    const role = this.roles.get(receiver);
    const delivery = ctx.delivery;
    switch (role?.kind) {
      case 'send':
        role.handler.onMessage(ctx as EventContext & { format?: number });
        return;
      case 'cbs': {
        // put-token: the SDK never checks the token's content, and neither does the emulator. The request is settled
        // first and answered on a later turn: rhea writes a turn's transfers before its dispositions, and uamqp fails
        // an operation whose reply comes before the request's disposition.
        delivery?.accept();
        const request = withReplyTo(ctx.connection, ctx.message as Message, cbsAddress);
        setImmediate(() => reply(ctx.connection, request, 202, null, { statusKey: 'status-code', descriptionKey: 'status-description' }, 'Accepted'));
        return;
      }
      case 'management': {
        delivery?.accept();
        const request = withReplyTo(ctx.connection, ctx.message as Message, `${role.entityPath}${managementSuffix}`);
        setImmediate(() => void this.management.handle(ctx.connection, role.entityPath, request));
        return;
      }
      default:
        delivery?.reject({ condition: 'amqp:not-allowed', description: 'This link does not accept messages.' });
    }
  }

  private onLinkGone(link: Sender | Receiver, connection: Connection, connectionLost = false): void {
    const role = this.roles.get(link);
    if (role?.kind === 'receive') role.handler.detached(connectionLost);
    if (role?.kind === 'reply') unregisterReplyLink(connection, link as Sender);
    this.roles.delete(link);
    this.linksOf.get(connection)?.delete(link);
  }

  private onDisconnected(connection: Connection): void {
    this.connections.delete(connection);
    for (const link of [...(this.linksOf.get(connection) ?? [])]) this.onLinkGone(link, connection, true);
    this.linksOf.delete(connection);
  }
}

// The few places the emulator needs more of rhea than its typings expose. Kept in one file, each with the reason,
// so an upgrade of rhea (pinned ^3.0.5) has one place to check.
import { message, type Connection, type Delivery, type Receiver, type Sender } from 'rhea';

/** Server-side view of a link: the fields of our attach frame that rhea writes when it processes the link. */
export interface LinkInternals {
  local: { attach: { source?: unknown; target?: unknown; properties?: Record<string, unknown>; max_message_size?: number; snd_settle_mode?: number; rcv_settle_mode?: number } };
  remote: { attach?: RemoteAttach };
  state: { local_open: boolean; open_requests: number };
  set_source(fields: Record<string, unknown> | null): void;
  set_target(fields: Record<string, unknown> | null): void;
}

export interface RemoteAttach {
  name: string;
  source?: { address?: string; filter?: Record<string, unknown> } | null;
  target?: { address?: string } | null;
  properties?: Record<string, unknown>;
  snd_settle_mode?: number;
  rcv_settle_mode?: number;
}

export function internals(link: Sender | Receiver): LinkInternals {
  return link as unknown as LinkInternals;
}

/**
 * rhea answers an attach as soon as the 'sender_open' handler returns. Accepting the next available session is a
 * long poll in Service Bus (the answer waits until a session frees up or the client's timeout passes), so the answer
 * is held back here and sent by `resumeAttach`.
 */
export function holdAttach(link: Sender | Receiver): void {
  const l = internals(link);
  l.state.local_open = false;
  l.state.open_requests = 0;
}

export function resumeAttach(link: Sender | Receiver): void {
  (link as unknown as { open(): void }).open();
}

/**
 * rhea only marks a flow as a drain reply while credit remains; when the last credit went on a transfer it sends a
 * plain flow and the SDK keeps waiting for 'receiver_drained' (then closes the link). Service Bus always answers a
 * drain, so this sender does too: the reply consumes whatever credit is left and carries drain=true.
 */
export function alwaysAnswerDrain(sender: Sender): void {
  const s = sender as unknown as { _draining: boolean; _drained: boolean; credit: number; delivery_count: number; _get_drain(): boolean };
  s._get_drain = function (this: typeof s): boolean {
    if (this._draining && this._drained) {
      this.delivery_count += this.credit;
      this.credit = 0;
      this._draining = false;
      return true;
    }
    return false;
  };
}

export function creditOf(sender: Sender): number {
  return (sender as unknown as { credit: number }).credit;
}

/** Deliveries the link's session can still take (rhea keeps them in a fixed-size buffer until settled). */
export function sessionRoomOf(sender: Sender): number {
  return (sender as unknown as { session: { outgoing: { available(): number } } }).session.outgoing.available();
}

/**
 * Deliveries handed to the session but not yet transferred. rhea takes credit only when it transfers (on its next
 * processing turn), so a pump that trusted `credit` alone would queue far more than the client asked for.
 */
export function untransferredOf(sender: Sender): number {
  const outgoing = (sender as unknown as { session: { outgoing: { next_delivery_id: number; next_pending_delivery: number } } }).session.outgoing;
  return outgoing.next_delivery_id - outgoing.next_pending_delivery;
}

export function isDraining(sender: Sender): boolean {
  return (sender as unknown as { _draining: boolean })._draining === true;
}

/**
 * Settles an outgoing delivery with an outcome. In rcv-settle-mode "second" the client settles after us without
 * telling us (it need not: we have forgotten the delivery), but rhea frees a delivery's slot in the session only once
 * both sides are settled, so the slot is released here.
 */
export function settleOutgoing(delivery: Delivery, outcome: unknown): void {
  delivery.update(true, outcome);
  (delivery as unknown as { remote_settled: boolean }).remote_settled = true;
}

const outcomes = message as unknown as {
  accepted(): { described(): unknown };
  rejected(fields: { error: { condition: string; description: string } }): { described(): unknown };
};

export function acceptedOutcome(): unknown {
  return outcomes.accepted().described();
}

export function rejectedOutcome(condition: string, description: string): unknown {
  return outcomes.rejected({ error: { condition, description } }).described();
}

/**
 * Closes a connection's socket abruptly and makes rhea report it. rhea listens for the socket's 'end' and 'error'
 * only, so a socket destroyed on our side never raised 'disconnected': the connection's links stayed open in rhea
 * (and their receivers, with every message they had locked, stayed attached in the broker) and its heartbeat timer
 * ran on. `abort_socket` is rhea's own path for this (used for idle timeouts): it destroys the socket, stops the
 * timers and dispatches 'disconnected'.
 */
export function abortConnection(connection: Connection): void {
  const c = connection as unknown as { socket?: { destroy(): void }; abort_socket?(socket: unknown): void };
  if (!c.socket) return;
  if (typeof c.abort_socket === 'function') c.abort_socket(c.socket);
  else c.socket.destroy();
}

// The duplicate-send audit: every send of an outbox row that Service Bus's duplicate detection dropped (the emulator
// lists them: the row's messageId, when it was first accepted, when the copy came) is a row the publisher sent twice.
// Duplicate detection makes that harmless on the queues, which is exactly why it can hide a bug (c4cb5d3: a row in
// flight read Pending again and sent a second time by the same publisher, with nothing wrong anywhere). At-least-once
// publishing resends legitimately, though, and each legitimate cause leaves a trace:
//   - the publisher saw the send fail although the broker had taken it (its "row will be retried" log line);
//   - it sent the row but could not write the outcome ("could not record the cycle outcome", naming the row);
//   - a publisher was killed or paused between the send and its mark (the run's action log);
//   - a publisher lost a lease meanwhile ("lease renewal failed", "lease lost to another publisher", ...);
//   - the Dataverse emulator was killed (a write it had not made durable);
//   - Service Bus was killed, dropped connections, held back send acknowledgements or refused attaches: the SDK's own
//     retry sends again without the publisher knowing.
// A resend with none of these between its first send and the dropped copy is unexplained: an invariant. Pure: stores,
// log events and the action log in; figures and violations out.
import type { DroppedDuplicate } from '@dataverse-outbox/emulators/admin';
import type { FaultKind } from './schedule';

export const resendCauses = ['send-reported-failed', 'mark-not-written', 'publisher-killed-or-paused', 'lease-lost', 'dataverse-killed', 'service-bus-fault'] as const;
export type ResendCause = (typeof resendCauses)[number];

export const resendCauseTitles: Record<ResendCause | 'unexplained', string> = {
  'send-reported-failed': 'the publisher saw the send fail (the broker had taken it)',
  'mark-not-written': 'the outcome could not be written',
  'publisher-killed-or-paused': 'a publisher killed or paused',
  'lease-lost': 'a lease lost',
  'dataverse-killed': 'Dataverse killed',
  'service-bus-fault': 'a Service Bus fault (SDK retry)',
  unexplained: 'unexplained',
};

/** What a publisher's log says that can explain a resend. */
export interface PublisherEvent {
  /** Epoch ms. */
  at: number;
  publisher: string;
  kind: 'send-failed' | 'mark-failed' | 'lease-lost';
  /** send-failed: the row's messageId; mark-failed: the rows sent but not marked. */
  messageId?: string;
  rowIds?: string[];
}

/** An action of the run and the time it could affect the system (ExecutedAction's from/to). */
export interface ActionWindow {
  kind: FaultKind;
  outcome: 'done' | 'skipped';
  from: number;
  to: number;
}

const causeKinds: Partial<Record<ResendCause, ReadonlySet<FaultKind>>> = {
  'publisher-killed-or-paused': new Set(['kill-publisher', 'kill-both-publishers', 'kill-partition-holder', 'pause-publisher']),
  'dataverse-killed': new Set(['kill-dataverse']),
  'service-bus-fault': new Set(['kill-servicebus', 'servicebus-drop-connections', 'servicebus-delay-sends', 'servicebus-refuse-attaches', 'blocked-key']),
};

/** Slack for the clocks of three processes and for log lines written a moment after what they report. */
const SLACK_MS = 1000;

export interface ResendFigures {
  /** Sends dropped by duplicate detection, per entity (every queue the run audits). */
  droppedPerEntity: Record<string, number>;
  /** Dropped sends of outbox rows (the publisher's), by the first cause that explains each. */
  outboxResends: number;
  /** Outbox rows with at least one dropped resend. */
  outboxRowsResent: number;
  byCause: Partial<Record<ResendCause | 'unexplained', number>>;
}

export interface ResendAudit {
  figures: ResendFigures;
  /** One line per unexplained resend. */
  unexplained: string[];
}

/** The publisher events in one publisher's log (JSON lines, each after the harness's timestamp). */
export function publisherEvents(publisher: string, lines: readonly string[]): PublisherEvent[] {
  const out: PublisherEvent[] = [];
  for (const line of lines) {
    const kind = line.includes('"message":"row will be retried"')
      ? 'send-failed'
      : line.includes('"message":"could not record the cycle outcome')
        ? 'mark-failed'
        : /"message":"(lease renewal failed|lease lost to another publisher|lease taken but (not confirmed|could not be confirmed); given back)"/.test(line)
          ? 'lease-lost'
          : undefined;
    if (!kind) continue;
    let fields: Record<string, unknown>;
    try {
      fields = JSON.parse(line.slice(line.indexOf('{'))) as Record<string, unknown>;
    } catch {
      continue; // a line cut short by a SIGKILL
    }
    const at = typeof fields.time === 'string' ? Date.parse(fields.time) : NaN;
    if (Number.isNaN(at)) continue;
    out.push({
      at,
      publisher,
      kind,
      ...(typeof fields.messageId === 'string' ? { messageId: fields.messageId.toLowerCase() } : {}),
      ...(Array.isArray(fields.rowIds) ? { rowIds: fields.rowIds.filter((id): id is string => typeof id === 'string').map((id) => id.toLowerCase()) } : {}),
    });
  }
  return out;
}

/** The logical messageId of a wire messageId (an operator replay adds `#r<n>`). */
const logicalId = (wireId: string): string => wireId.replace(/#r\d+$/, '').toLowerCase();

export function auditResends(args: {
  /** Dropped duplicates per entity, as the emulator lists them. */
  dropped: Readonly<Record<string, readonly DroppedDuplicate[]>>;
  /** The entities the outbox publisher sends to: their dropped sends of outbox rows are judged. */
  publisherTargets: readonly string[];
  rows: readonly { id: string; messageId: string }[];
  events: readonly PublisherEvent[];
  actions: readonly ActionWindow[];
}): ResendAudit {
  const rowIdOf = new Map(args.rows.map((r) => [r.messageId.toLowerCase(), r.id.toLowerCase()]));
  const targets = new Set(args.publisherTargets.map((t) => t.toLowerCase()));
  const droppedPerEntity: Record<string, number> = {};
  const byCause: ResendFigures['byCause'] = {};
  const unexplained: string[] = [];
  const resentRows = new Set<string>();
  let outboxResends = 0;
  const done = args.actions.filter((a) => a.outcome === 'done');
  for (const [entity, list] of Object.entries(args.dropped)) {
    droppedPerEntity[entity] = list.length;
    if (!targets.has(entity.toLowerCase())) continue;
    for (const d of list) {
      const messageId = logicalId(d.messageId);
      const rowId = rowIdOf.get(messageId);
      if (rowId === undefined) continue; // not an outbox row (a message the run put on the queue itself)
      outboxResends++;
      resentRows.add(rowId);
      const from = d.firstSeenAt - SLACK_MS;
      const to = d.droppedAt + SLACK_MS;
      const logged = (kind: PublisherEvent['kind'], match: (e: PublisherEvent) => boolean): boolean => args.events.some((e) => e.kind === kind && e.at >= from && e.at <= to && match(e));
      const struck = (cause: ResendCause): boolean => done.some((a) => causeKinds[cause]!.has(a.kind) && a.from <= to && a.to >= from);
      const cause: ResendCause | undefined = logged('send-failed', (e) => e.messageId === messageId)
        ? 'send-reported-failed'
        : logged('mark-failed', (e) => e.rowIds?.includes(rowId) === true)
          ? 'mark-not-written'
          : struck('publisher-killed-or-paused')
            ? 'publisher-killed-or-paused'
            : logged('lease-lost', () => true)
              ? 'lease-lost'
              : struck('dataverse-killed')
                ? 'dataverse-killed'
                : struck('service-bus-fault')
                  ? 'service-bus-fault'
                  : undefined;
      byCause[cause ?? 'unexplained'] = (byCause[cause ?? 'unexplained'] ?? 0) + 1;
      if (!cause) {
        unexplained.push(`${d.messageId} on ${entity}: first sent ${new Date(d.firstSeenAt).toISOString()}, sent again ${new Date(d.droppedAt).toISOString()} (${d.droppedAt - d.firstSeenAt} ms later), with no kill, pause, lost lease, outage, failed send or failed mark in between`);
      }
    }
  }
  return { figures: { droppedPerEntity, outboxResends, outboxRowsResent: resentRows.size, byCause }, unexplained };
}

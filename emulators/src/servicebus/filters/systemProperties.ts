// The `sys.` properties a rule may read or set, by the names Service Bus filters use (case-insensitive), mapped to the
// message fields the broker routes on. Names Service Bus knows but the emulator does not carry at routing time are
// refused when the rule is created, so a filter never silently reads "unknown" where Azure would read a value.

/** What a filter sees of a message: its system properties and its application (user) properties. */
export interface FilterableMessage {
  messageId?: string;
  correlationId?: string;
  sessionId?: string;
  replyToSessionId?: string;
  contentType?: string;
  /** `sys.Label` (the older SDKs' name) and `sys.Subject` both read it. */
  subject?: string;
  to?: string;
  replyTo?: string;
  sequenceNumber?: number;
  applicationProperties?: Record<string, unknown>;
}

export type SettableSystemField = 'messageId' | 'correlationId' | 'sessionId' | 'replyToSessionId' | 'contentType' | 'subject' | 'to' | 'replyTo';
type SystemField = SettableSystemField | 'sequenceNumber';

const known: Record<string, { field: SystemField; settable: boolean }> = {
  messageid: { field: 'messageId', settable: true },
  correlationid: { field: 'correlationId', settable: true },
  sessionid: { field: 'sessionId', settable: true },
  replytosessionid: { field: 'replyToSessionId', settable: true },
  contenttype: { field: 'contentType', settable: true },
  label: { field: 'subject', settable: true },
  subject: { field: 'subject', settable: true },
  to: { field: 'to', settable: true },
  replyto: { field: 'replyTo', settable: true },
  sequencenumber: { field: 'sequenceNumber', settable: false },
};

/** Broker-side properties Service Bus documents that the emulator does not evaluate in rules. */
const notEvaluated = new Set([
  'enqueuedtimeutc',
  'scheduledenqueuetimeutc',
  'timetolive',
  'expiresatutc',
  'deliverycount',
  'size',
  'partitionkey',
  'viapartitionkey',
  'lockeduntilutc',
  'locktoken',
  'deadlettersource',
  'enqueuedsequencenumber',
  'state',
]);

export type SystemPropertyLookup = { ok: true; field: SystemField; settable: boolean } | { ok: false; reason: string };

export function lookupSystemProperty(name: string): SystemPropertyLookup {
  const key = name.toLowerCase();
  const entry = known[key];
  if (entry) return { ok: true, ...entry };
  if (notEvaluated.has(key)) return { ok: false, reason: `the system property 'sys.${name}' is not evaluated by the emulator` };
  return { ok: false, reason: `'sys.${name}' is not a system property of a Service Bus message` };
}

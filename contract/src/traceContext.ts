// W3C trace context (https://www.w3.org/TR/trace-context/) on the outbox row and on the message: the one definition the
// writers (which store the commit's context in obx_tracecontext), the publisher (which sends the message as a child of it)
// and the consumer toolkit share.
//
// The column stores a `traceparent` only (version 00: `00-<trace id>-<parent id>-<flags>`, 55 characters), not
// `tracestate`: the Azure SDK's Service Bus instrumentation carries only the traceparent (as `Diagnostic-Id`), vendor
// state is rarely needed to continue a trace, and one fixed grammar is easy to refuse hostile values against. The column
// is 512 characters long so a later version may append `;tracestate=...` without a schema change.

/** The message application properties a trace context travels in, as the Azure SDK for Service Bus reads and writes them. */
export const TraceProperties = {
  /** What @azure/service-bus writes on send and reads on receive (and the Azure Functions trigger reads): a traceparent. */
  diagnosticId: 'Diagnostic-Id',
  /** The W3C name, for OpenTelemetry consumers that read the W3C propagator's field directly. */
  traceParent: 'traceparent',
} as const;

/** A parsed version-00 traceparent. */
export interface TraceParent {
  /** 32 lower-case hex digits, not all zero. */
  readonly traceId: string;
  /** 16 lower-case hex digits, not all zero: the id of the span the context names (the parent of the next span). */
  readonly spanId: string;
  /** Trace flags, 0-255; bit 0 is "sampled". */
  readonly flags: number;
}

/** Length of a version-00 traceparent. */
export const TRACEPARENT_LENGTH = 55;

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;
const ZERO_TRACE_ID = '0'.repeat(32);
const ZERO_SPAN_ID = '0'.repeat(16);

/** The parts of a version-00 traceparent, or undefined for anything else (upper case, all-zero ids, other versions, extra text). */
export function parseTraceParent(value: unknown): TraceParent | undefined {
  if (typeof value !== 'string' || value.length !== TRACEPARENT_LENGTH) return undefined;
  const m = TRACEPARENT.exec(value);
  if (!m) return undefined;
  const [, traceId, spanId, flags] = m as unknown as [string, string, string, string];
  if (traceId === ZERO_TRACE_ID || spanId === ZERO_SPAN_ID) return undefined;
  return { traceId, spanId, flags: parseInt(flags, 16) };
}

/** Why a value is not a traceparent, or undefined when it is one. Never quotes the value (it came from a caller). */
export function traceParentProblem(value: unknown): string | undefined {
  if (typeof value !== 'string') return `must be text, not ${value === null ? 'null' : typeof value}`;
  if (parseTraceParent(value) !== undefined) return undefined;
  return `must be a W3C traceparent: 00-<32 lower-case hex digits, not all 0>-<16 lower-case hex digits, not all 0>-<2 hex digits> (${TRACEPARENT_LENGTH} characters; got ${value.length})`;
}

export function formatTraceParent(context: TraceParent): string {
  return `00-${context.traceId}-${context.spanId}-${(context.flags & 0xff).toString(16).padStart(2, '0')}`;
}

/** Random bytes from a secure source (node:crypto or Web Crypto: the contract has neither). */
export type RandomBytes = (length: number) => Uint8Array;

function randomHex(length: number, randomBytes: RandomBytes): string {
  for (;;) {
    const hex = Array.from(randomBytes(length), (b) => b.toString(16).padStart(2, '0')).join('');
    // All zeros is invalid in W3C trace context; with 64 or 128 random bits this loop runs once.
    if (/[^0]/.test(hex)) return hex;
  }
}

/** Random bytes from the platform's Web Crypto (browsers, Node 20+), else an error: never Math.random for ids others trust. */
export const webCryptoRandomBytes: RandomBytes = (length) => {
  const c = (globalThis as { crypto?: { getRandomValues?<T extends ArrayBufferView>(array: T): T } }).crypto;
  if (!c || typeof c.getRandomValues !== 'function') throw new Error('No secure random number generator is available to create a trace context.');
  return c.getRandomValues(new Uint8Array(length));
};

/**
 * A new span's context: a child of `parent` (same trace id and flags, a new span id), or the root of a new trace (sampled)
 * when there is no parent.
 */
export function newTraceParent(parent?: TraceParent, randomBytes: RandomBytes = webCryptoRandomBytes): TraceParent {
  return {
    traceId: parent ? parent.traceId : randomHex(16, randomBytes),
    spanId: randomHex(8, randomBytes),
    flags: parent ? parent.flags : 1,
  };
}

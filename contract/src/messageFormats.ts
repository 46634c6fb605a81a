// Message formats per target (obx_MessageFormats) and the CloudEvents 1.0 names the publisher writes and the consumer
// reads. One definition: the publisher's settings, the deploy check and the consumer toolkit all use this module.
// CloudEvents AMQP protocol binding: binary mode puts every attribute except datacontenttype in application-properties
// prefixed "cloudEvents:" (datacontenttype is the AMQP content-type); structured mode sends the JSON event format with
// content-type application/cloudevents+json.
import { describeValue, entityNameProblem, normaliseEntityName } from './identifiers';

/** How the publisher shapes the messages of one target. */
export const MessageFormat = {
  /** The outbox's own format (spec "Row -> Service Bus message"). */
  Default: 'default',
  /** CloudEvents 1.0, AMQP binary content mode: attributes as `cloudEvents:` application properties, the payload as body. */
  CloudEventsBinary: 'cloudevents-binary',
  /** CloudEvents 1.0, AMQP structured content mode: the JSON event format (`application/cloudevents+json`) as body. */
  CloudEventsStructured: 'cloudevents-structured',
} as const;
export type MessageFormatName = (typeof MessageFormat)[keyof typeof MessageFormat];
export const MESSAGE_FORMATS: readonly MessageFormatName[] = Object.values(MessageFormat);

export function isCloudEventsFormat(format: MessageFormatName | undefined): boolean {
  return format === MessageFormat.CloudEventsBinary || format === MessageFormat.CloudEventsStructured;
}

export const CloudEvents = {
  specVersion: '1.0',
  /** AMQP binding, binary mode: the application-property prefix of the spec ... */
  propertyPrefix: 'cloudEvents:',
  /** ... and the one some implementations use where `:` is not allowed (JMS); the consumer reads both. */
  alternatePropertyPrefix: 'cloudEvents_',
  /** Structured mode's media type (JSON event format); the publisher adds `; charset=utf-8`. */
  jsonContentType: 'application/cloudevents+json',
  /** Any structured CloudEvents media type starts with this (the binding's test for structured mode). */
  mediaTypePrefix: 'application/cloudevents',
} as const;

/** The CloudEvents attributes the outbox sets (datacontenttype travels as the AMQP content-type in binary mode). */
export interface CloudEventAttributes {
  specversion: string;
  /** The logical outbox message id (obx_messageid, else the row id): a replay is the same event, so it has no `#r<n>`. */
  id: string;
  /** `<Dataverse environment URL>/<obx_sourceentity>`, or the environment URL alone when the row names no table. */
  source: string;
  /** obx_eventtype. */
  type: string;
  /** obx_sourceid: the source row. */
  subject?: string;
  /** The row's createdon (the commit), RFC 3339. */
  time?: string;
  datacontenttype?: string;
}

/** The `source` attribute: the environment, then the table (URI-encoded: a raw writer may put anything in obx_sourceentity). */
export function cloudEventSource(environmentUrl: string, sourceEntity: string | undefined): string {
  const base = environmentUrl.replace(/\/+$/, '');
  return sourceEntity && sourceEntity.trim() !== '' ? `${base}/${encodeURIComponent(sourceEntity.trim())}` : base;
}

export interface MessageFormatsReading {
  /** Normalised target name -> format; targets not listed get the default format. */
  formats: ReadonlyMap<string, MessageFormatName>;
  /** Every problem, each naming the setting and the entry. */
  problems: string[];
}

/**
 * Reads obx_MessageFormats: a JSON object of target -> format. Blank means the solution default (`{}`). When
 * `allowedTargets` (normalised) is given, every key must be one of them: a format for a target nothing may be sent
 * to is a typo of the operator's, refused by name.
 */
export function parseMessageFormats(text: string, where: string, allowedTargets?: readonly string[]): MessageFormatsReading {
  const problems: string[] = [];
  const formats = new Map<string, MessageFormatName>();
  if (text.trim() === '') return { formats, problems };
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    problems.push(`${where} is not valid JSON (${(e as Error).message})`);
    return { formats, problems };
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    problems.push(`${where} must be a JSON object of target name -> format (${MESSAGE_FORMATS.map((f) => `"${f}"`).join(', ')}), e.g. {"orders":"cloudevents-binary"}; got ${Array.isArray(parsed) ? 'an array' : describeValue(parsed)}`);
    return { formats, problems };
  }
  for (const [key, value] of Object.entries(parsed as Record<string, unknown>)) {
    const entry = `${where} entry ${describeValue(key)}`;
    const nameProblem = entityNameProblem(key);
    if (nameProblem) {
      problems.push(`${entry}: ${nameProblem}`);
      continue;
    }
    const target = normaliseEntityName(key)!;
    if (typeof value !== 'string' || !(MESSAGE_FORMATS as readonly string[]).includes(value)) {
      problems.push(`${entry}: the format must be one of ${MESSAGE_FORMATS.map((f) => `"${f}"`).join(', ')}, got ${describeValue(value)}`);
      continue;
    }
    if (formats.has(target)) {
      problems.push(`${entry}: target "${target}" is listed twice (names are case-insensitive)`);
      continue;
    }
    if (allowedTargets && !allowedTargets.includes(target)) {
      problems.push(`${entry}: target "${target}" is not in the allowed targets (${allowedTargets.length === 0 ? 'none are configured' : allowedTargets.map((t) => `"${t}"`).join(', ')})`);
      continue;
    }
    formats.set(target, value as MessageFormatName);
  }
  return { formats, problems };
}

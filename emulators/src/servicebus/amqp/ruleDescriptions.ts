// Rules on the wire ("AMQP 1.0 in Azure Service Bus: request-response-based operations", Rule operations): the
// add-rule request's rule-description map, and the described lists enumerate-rules answers with, in the shape the
// SDKs decode (@azure/service-bus's managementClient.getRules, .NET's AmqpRuleDescriptionCodec: filter, action, name,
// created-at).
import { types } from 'rhea';
import { brokerErrors } from '../errors/BrokerError';
import type { CorrelationFilterDefinition, CorrelationPropertyValue, RuleDefinition, RuleFilterDefinition } from '../filters/rules';

export const ruleDescriptors = {
  ruleDescription: 0x0000013700000004,
  emptyRuleAction: 0x0000013700000005,
  sqlRuleAction: 0x0000013700000006,
  // Learn's table prints these one digit short; the SDKs (and Service Bus) use 0x00000013_70000006..09.
  sqlFilter: 0x0000001370000006,
  trueFilter: 0x0000001370000007,
  falseFilter: 0x0000001370000008,
  correlationFilter: 0x0000001370000009,
} as const;

/** Service Bus reports compatibility level 20 for every SQL filter and action. */
const compatibilityLevel = 20;

type Map = Record<string, unknown>;

const isMap = (v: unknown): v is Map => typeof v === 'object' && v !== null && !Array.isArray(v) && !Buffer.isBuffer(v);
const optionalString = (v: unknown, key: string): string | undefined => {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw brokerErrors.argument(`The correlation filter's '${key}' must be a string.`);
  return v;
};

function correlationFromWire(c: Map): CorrelationFilterDefinition {
  let properties: Record<string, CorrelationPropertyValue> | undefined;
  if (c.properties !== undefined && c.properties !== null) {
    if (!isMap(c.properties)) throw brokerErrors.argument("The correlation filter's 'properties' must be a map.");
    properties = {};
    for (const [key, value] of Object.entries(c.properties)) {
      if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
        throw brokerErrors.argument(`The correlation filter property '${key}' must be a string, number or boolean in the emulator.`);
      }
      properties[key] = value;
    }
  }
  const definition: CorrelationFilterDefinition = {
    correlationId: optionalString(c['correlation-id'], 'correlation-id'),
    messageId: optionalString(c['message-id'], 'message-id'),
    to: optionalString(c.to, 'to'),
    replyTo: optionalString(c['reply-to'], 'reply-to'),
    subject: optionalString(c.label, 'label'),
    sessionId: optionalString(c['session-id'], 'session-id'),
    replyToSessionId: optionalString(c['reply-to-session-id'], 'reply-to-session-id'),
    contentType: optionalString(c['content-type'], 'content-type'),
    properties,
  };
  return Object.fromEntries(Object.entries(definition).filter(([, v]) => v !== undefined)) as CorrelationFilterDefinition;
}

function expressionOf(v: unknown, what: string): string {
  if (!isMap(v) || typeof v.expression !== 'string') throw brokerErrors.argument(`The ${what} must be a map with a string 'expression'.`);
  return v.expression;
}

/** The add-rule request body (`rule-name`, `rule-description`) as a rule definition. */
export function ruleFromAddRequest(body: Map, createdAt: number): RuleDefinition {
  const name = body['rule-name'];
  if (typeof name !== 'string') throw brokerErrors.argument("The request must name a 'rule-name'.");
  const description = body['rule-description'];
  if (!isMap(description)) throw brokerErrors.argument("The request must carry a 'rule-description' map.");
  const sql = description['sql-filter'];
  const correlation = description['correlation-filter'];
  const hasSql = sql !== undefined && sql !== null;
  const hasCorrelation = correlation !== undefined && correlation !== null;
  if (hasSql === hasCorrelation) throw brokerErrors.argument("The rule-description must carry exactly one of 'sql-filter' and 'correlation-filter'.");
  let filter: RuleFilterDefinition;
  if (hasSql) filter = { kind: 'sql', expression: expressionOf(sql, 'sql-filter') };
  else if (isMap(correlation)) filter = { kind: 'correlation', correlation: correlationFromWire(correlation) };
  else throw brokerErrors.argument("The 'correlation-filter' must be a map.");
  const action = description['sql-rule-action'];
  const actionExpression = action === undefined || action === null ? undefined : expressionOf(action, 'sql-rule-action');
  return { name, filter, ...(actionExpression === undefined ? {} : { action: actionExpression }), createdAt };
}

const described = (code: number, items: unknown[]): unknown => types.described(types.wrap_ulong(code), types.wrap_list(items));
const nullable = (v: string | undefined): unknown => (v === undefined ? null : types.wrap_string(v));

function filterToWire(f: RuleFilterDefinition): unknown {
  switch (f.kind) {
    case 'true':
      return described(ruleDescriptors.trueFilter, [types.wrap_string('1=1'), types.wrap_int(compatibilityLevel)]);
    case 'false':
      return described(ruleDescriptors.falseFilter, [types.wrap_string('1=0'), types.wrap_int(compatibilityLevel)]);
    case 'sql':
      return described(ruleDescriptors.sqlFilter, [types.wrap_string(f.expression), types.wrap_int(compatibilityLevel)]);
    case 'correlation': {
      const c = f.correlation;
      // The SDK decodes index 8 as a map, so an empty map stands for "no application properties".
      return described(ruleDescriptors.correlationFilter, [
        nullable(c.correlationId),
        nullable(c.messageId),
        nullable(c.to),
        nullable(c.replyTo),
        nullable(c.subject),
        nullable(c.sessionId),
        nullable(c.replyToSessionId),
        nullable(c.contentType),
        types.wrap_map(c.properties ?? {}),
      ]);
    }
  }
}

/** One entry of the enumerate-rules reply: `{ "rule-description": <described list> }`. */
export function ruleToWire(rule: RuleDefinition): Map {
  const action =
    rule.action === undefined
      ? described(ruleDescriptors.emptyRuleAction, [])
      : described(ruleDescriptors.sqlRuleAction, [types.wrap_string(rule.action), types.wrap_int(compatibilityLevel)]);
  return {
    'rule-description': described(ruleDescriptors.ruleDescription, [filterToWire(rule.filter), action, types.wrap_string(rule.name), types.wrap_timestamp(rule.createdAt)]),
  };
}

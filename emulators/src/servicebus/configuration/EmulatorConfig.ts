// Entities come from a file in the same JSON shape as Microsoft's Service Bus emulator Config.json
// (UserConfig.Namespaces[].Queues[] / Topics[].Subscriptions[].Rules[]), so users can reuse the file they already have.
// A malformed file is refused at start with the JSON path of the first bad field.
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { compileRuleAction } from '../filters/ruleAction';
import { compileRule, defaultRule, quotaKind, ruleQuotas, type CorrelationFilterDefinition, type RuleDefinition } from '../filters/rules';
import { formatIsoDuration, parseIsoDurationInMs } from './duration';

const isoDuration = z.string().refine((s) => parseIsoDurationInMs(s) !== undefined && parseIsoDurationInMs(s)! > 0, {
  message: 'must be a positive ISO-8601 duration such as "PT1M", "PT20S" or "P14D"',
});
const entityName = z
  .string()
  .min(1, 'must not be empty')
  .max(260)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._\-/]*$/, 'may contain only letters, digits, ".", "_", "-" and "/"')
  .refine((s) => !s.includes('$') && !/\/subscriptions\//i.test(s), { message: 'is a reserved name' });

const queueProperties = z
  .object({
    DeadLetteringOnMessageExpiration: z.boolean().optional(),
    DefaultMessageTimeToLive: isoDuration.optional(),
    DuplicateDetectionHistoryTimeWindow: isoDuration.optional(),
    ForwardDeadLetteredMessagesTo: z.string().optional(),
    ForwardTo: z.string().optional(),
    LockDuration: isoDuration.optional(),
    MaxDeliveryCount: z.number().int().min(1).max(2000).optional(),
    RequiresDuplicateDetection: z.boolean().optional(),
    RequiresSession: z.boolean().optional(),
  })
  .strict();

const topicProperties = z
  .object({
    DefaultMessageTimeToLive: isoDuration.optional(),
    DuplicateDetectionHistoryTimeWindow: isoDuration.optional(),
    RequiresDuplicateDetection: z.boolean().optional(),
  })
  .strict();

const subscriptionProperties = z
  .object({
    DeadLetteringOnMessageExpiration: z.boolean().optional(),
    DefaultMessageTimeToLive: isoDuration.optional(),
    ForwardDeadLetteredMessagesTo: z.string().optional(),
    ForwardTo: z.string().optional(),
    LockDuration: isoDuration.optional(),
    MaxDeliveryCount: z.number().int().min(1).max(2000).optional(),
    RequiresSession: z.boolean().optional(),
  })
  .strict();

const correlationFilter = z
  .object({
    ContentType: z.string().optional(),
    CorrelationId: z.string().optional(),
    Label: z.string().optional(),
    MessageId: z.string().optional(),
    ReplyTo: z.string().optional(),
    ReplyToSessionId: z.string().optional(),
    SessionId: z.string().optional(),
    To: z.string().optional(),
    Properties: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
  })
  .strict();

// Microsoft's format: `FilterType` "Correlation" with `CorrelationFilter`, or "Sql" with `SqlFilter.SqlExpression`;
// either may carry `Action.SqlExpression` (a SQL rule action).
const sqlExpression = z.object({ SqlExpression: z.string() }).strict();
const rule = z
  .object({
    Name: z.string().min(1),
    Properties: z.discriminatedUnion(
      'FilterType',
      [
        z.object({ FilterType: z.literal('Correlation'), CorrelationFilter: correlationFilter, Action: sqlExpression.optional() }).strict(),
        z.object({ FilterType: z.literal('Sql'), SqlFilter: sqlExpression, Action: sqlExpression.optional() }).strict(),
      ],
      { error: 'FilterType must be "Correlation" (with CorrelationFilter) or "Sql" (with SqlFilter)' },
    ),
  })
  .strict();

const subscription = z
  .object({ Name: entityName, Properties: subscriptionProperties.optional(), Rules: z.array(rule).optional() })
  .strict();
const queue = z.object({ Name: entityName, Properties: queueProperties.optional() }).strict();
const topic = z
  .object({ Name: entityName, Properties: topicProperties.optional(), Subscriptions: z.array(subscription).optional() })
  .strict();

const configSchema = z
  .object({
    UserConfig: z
      .object({
        Namespaces: z
          .array(
            z
              .object({ Name: z.string().min(1), Queues: z.array(queue).optional(), Topics: z.array(topic).optional() })
              .strict(),
          )
          .min(1, 'must list at least one namespace'),
        Logging: z.object({ Type: z.string() }).passthrough().optional(),
      })
      .strict(),
  })
  .strict();

/** The Config.json document, as Microsoft's Service Bus emulator defines it. */
export type EmulatorConfig = z.infer<typeof configSchema>;
export type QueueConfig = z.infer<typeof queue>;
export type TopicConfig = z.infer<typeof topic>;
export type SubscriptionConfig = z.infer<typeof subscription>;
export type CorrelationFilterConfig = z.infer<typeof correlationFilter>;
export type RuleConfig = z.infer<typeof rule>;

/** A refused configuration: `path` is the JSON path of the bad field, e.g. `UserConfig.Namespaces[0].Queues[1].Properties.LockDuration`. */
export class ServiceBusEmulatorConfigError extends Error {
  override readonly name = 'ServiceBusEmulatorConfigError';
  constructor(
    readonly path: string,
    readonly reason: string,
    readonly source?: string,
  ) {
    super(`Invalid Service Bus emulator configuration${source ? ` in ${source}` : ''} at ${path}: ${reason}`);
  }
}

export function isServiceBusEmulatorConfigError(e: unknown): e is ServiceBusEmulatorConfigError {
  return e instanceof ServiceBusEmulatorConfigError;
}

function jsonPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const part of path) out += typeof part === 'number' ? `[${part}]` : `${out ? '.' : ''}${String(part)}`;
  return out || '$';
}

/** Validates a configuration object (or the text of a Config.json) and returns it typed. */
export function parseEmulatorConfig(input: unknown, source?: string): EmulatorConfig {
  let document = input;
  if (typeof input === 'string') {
    try {
      document = JSON.parse(input);
    } catch (e) {
      throw new ServiceBusEmulatorConfigError('$', `not valid JSON (${(e as Error).message})`, source);
    }
  }
  const result = configSchema.safeParse(document);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const path = [...issue.path];
    if (issue.code === 'unrecognized_keys' && issue.keys.length > 0) path.push(issue.keys[0]!);
    throw new ServiceBusEmulatorConfigError(jsonPath(path), issue.message, source);
  }
  checkUniqueNames(result.data, source);
  checkRules(result.data, source);
  return result.data;
}

/** The rule a Config.json entry describes (its creation time is the emulator's start). */
export function toRuleDefinition(r: RuleConfig, createdAt: number): RuleDefinition {
  const p = r.Properties;
  const action = p.Action?.SqlExpression;
  const filter: RuleDefinition['filter'] =
    p.FilterType === 'Sql' ? { kind: 'sql', expression: p.SqlFilter.SqlExpression } : { kind: 'correlation', correlation: toCorrelationDefinition(p.CorrelationFilter) };
  return { name: r.Name, filter, ...(action === undefined ? {} : { action }), createdAt };
}

function toCorrelationDefinition(c: CorrelationFilterConfig): CorrelationFilterDefinition {
  return {
    correlationId: c.CorrelationId,
    messageId: c.MessageId,
    to: c.To,
    replyTo: c.ReplyTo,
    subject: c.Label,
    sessionId: c.SessionId,
    replyToSessionId: c.ReplyToSessionId,
    contentType: c.ContentType,
    properties: c.Properties,
  };
}

/** Every rule must be one Service Bus would accept: parsable SQL, unique names, within the per-topic filter quotas. */
function checkRules(config: EmulatorConfig, source?: string): void {
  config.UserConfig.Namespaces.forEach((ns, n) => {
    ns.Topics?.forEach((t, i) => {
      const used = { sql: 0, correlation: 0 };
      t.Subscriptions?.forEach((s, j) => {
        const base = `UserConfig.Namespaces[${n}].Topics[${i}].Subscriptions[${j}]`;
        const names = new Set<string>();
        const rules = s.Rules && s.Rules.length > 0 ? s.Rules.map((r) => toRuleDefinition(r, 0)) : [defaultRule(0)];
        rules.forEach((definition, k) => {
          const path = s.Rules && s.Rules.length > 0 ? `${base}.Rules[${k}]` : base;
          const key = definition.name.toLowerCase();
          if (names.has(key)) throw new ServiceBusEmulatorConfigError(`${path}.Name`, `duplicate rule name "${definition.name}"`, source);
          names.add(key);
          const refuse = (field: string, e: unknown): never => {
            throw new ServiceBusEmulatorConfigError(`${path}${field}`, (e as Error).message, source);
          };
          try {
            compileRule({ ...definition, action: undefined });
          } catch (e) {
            refuse(definition.filter.kind === 'sql' ? '.Properties.SqlFilter.SqlExpression' : '.Properties.CorrelationFilter', e);
          }
          try {
            if (definition.action !== undefined) compileRuleAction(definition.action);
          } catch (e) {
            refuse('.Properties.Action.SqlExpression', e);
          }
          const kind = quotaKind(definition.filter);
          const limit = kind === 'sql' ? ruleQuotas.sqlFiltersPerTopic : ruleQuotas.correlationFiltersPerTopic;
          if (++used[kind] > limit) {
            throw new ServiceBusEmulatorConfigError(path, `the topic has more than ${limit} ${kind === 'sql' ? 'SQL' : 'correlation'} filters (the Service Bus quota)`, source);
          }
        });
      });
    });
  });
}

function checkUniqueNames(config: EmulatorConfig, source?: string): void {
  const seen = new Set<string>();
  config.UserConfig.Namespaces.forEach((ns, n) => {
    const claim = (name: string, path: string): void => {
      const key = name.toLowerCase();
      if (seen.has(key)) throw new ServiceBusEmulatorConfigError(path, `duplicate entity name "${name}"`, source);
      seen.add(key);
    };
    ns.Queues?.forEach((q, i) => claim(q.Name, `UserConfig.Namespaces[${n}].Queues[${i}].Name`));
    ns.Topics?.forEach((t, i) => {
      claim(t.Name, `UserConfig.Namespaces[${n}].Topics[${i}].Name`);
      const subs = new Set<string>();
      t.Subscriptions?.forEach((s, j) => {
        const key = s.Name.toLowerCase();
        if (subs.has(key)) {
          throw new ServiceBusEmulatorConfigError(`UserConfig.Namespaces[${n}].Topics[${i}].Subscriptions[${j}].Name`, `duplicate subscription name "${s.Name}"`, source);
        }
        subs.add(key);
      });
    });
  });
}

/** Reads and validates a Config.json file. */
export function loadEmulatorConfigFile(file: string): EmulatorConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ServiceBusEmulatorConfigError('$', `cannot read the file (${(e as Error).message})`, file);
  }
  return parseEmulatorConfig(text, file);
}

// ---- The short form other packages' tests use -------------------------------------------------------------------

export interface ShortQueueConfig {
  name: string;
  requiresSession?: boolean;
  maxDeliveryCount?: number;
  lockDurationInMs?: number;
  requiresDuplicateDetection?: boolean;
  duplicateDetectionHistoryTimeWindowInMs?: number;
  defaultMessageTimeToLiveInMs?: number;
  deadLetteringOnMessageExpiration?: boolean;
}

export interface ShortCorrelationFilter {
  contentType?: string;
  correlationId?: string;
  subject?: string;
  messageId?: string;
  replyTo?: string;
  replyToSessionId?: string;
  sessionId?: string;
  to?: string;
  applicationProperties?: Record<string, string | number | boolean>;
}

/** A rule in the short form: a correlation filter or a SQL filter, optionally with a SQL action. */
export type ShortRuleConfig = { name: string; action?: string } & ({ correlationFilter: ShortCorrelationFilter } | { sqlFilter: string });

export interface ShortSubscriptionConfig extends Omit<ShortQueueConfig, 'requiresDuplicateDetection' | 'duplicateDetectionHistoryTimeWindowInMs'> {
  rules?: ShortRuleConfig[];
}

export interface ShortTopicConfig {
  name: string;
  requiresDuplicateDetection?: boolean;
  duplicateDetectionHistoryTimeWindowInMs?: number;
  defaultMessageTimeToLiveInMs?: number;
  subscriptions?: ShortSubscriptionConfig[];
}

export interface ShortEmulatorConfig {
  namespace?: string;
  queues?: ShortQueueConfig[];
  topics?: ShortTopicConfig[];
}

const duration = (ms: number | undefined): string | undefined => (ms === undefined ? undefined : formatIsoDuration(ms));

function dropUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

/**
 * Builds a full Config.json document from a short list, e.g.
 * `buildEmulatorConfig({ queues: [{ name: 'outbox', maxDeliveryCount: 3, lockDurationInMs: 2000 }] })`.
 */
export function buildEmulatorConfig(short: ShortEmulatorConfig): EmulatorConfig {
  const config: EmulatorConfig = {
    UserConfig: {
      Namespaces: [
        {
          Name: short.namespace ?? 'sbemulatorns',
          Queues: (short.queues ?? []).map((q) => ({
            Name: q.name,
            Properties: dropUndefined({
              RequiresSession: q.requiresSession,
              MaxDeliveryCount: q.maxDeliveryCount,
              LockDuration: duration(q.lockDurationInMs),
              RequiresDuplicateDetection: q.requiresDuplicateDetection,
              DuplicateDetectionHistoryTimeWindow: duration(q.duplicateDetectionHistoryTimeWindowInMs),
              DefaultMessageTimeToLive: duration(q.defaultMessageTimeToLiveInMs),
              DeadLetteringOnMessageExpiration: q.deadLetteringOnMessageExpiration,
            }),
          })),
          Topics: (short.topics ?? []).map((t) => ({
            Name: t.name,
            Properties: dropUndefined({
              RequiresDuplicateDetection: t.requiresDuplicateDetection,
              DuplicateDetectionHistoryTimeWindow: duration(t.duplicateDetectionHistoryTimeWindowInMs),
              DefaultMessageTimeToLive: duration(t.defaultMessageTimeToLiveInMs),
            }),
            Subscriptions: (t.subscriptions ?? []).map((s) => ({
              Name: s.name,
              Properties: dropUndefined({
                RequiresSession: s.requiresSession,
                MaxDeliveryCount: s.maxDeliveryCount,
                LockDuration: duration(s.lockDurationInMs),
                DefaultMessageTimeToLive: duration(s.defaultMessageTimeToLiveInMs),
                DeadLetteringOnMessageExpiration: s.deadLetteringOnMessageExpiration,
              }),
              Rules: s.rules?.map((r): RuleConfig => ({
                Name: r.name,
                Properties: 'sqlFilter' in r ? {
                  FilterType: 'Sql' as const,
                  SqlFilter: { SqlExpression: r.sqlFilter },
                  ...(r.action === undefined ? {} : { Action: { SqlExpression: r.action } }),
                } : {
                  FilterType: 'Correlation' as const,
                  ...(r.action === undefined ? {} : { Action: { SqlExpression: r.action } }),
                  CorrelationFilter: dropUndefined({
                    ContentType: r.correlationFilter.contentType,
                    CorrelationId: r.correlationFilter.correlationId,
                    Label: r.correlationFilter.subject,
                    MessageId: r.correlationFilter.messageId,
                    ReplyTo: r.correlationFilter.replyTo,
                    ReplyToSessionId: r.correlationFilter.replyToSessionId,
                    SessionId: r.correlationFilter.sessionId,
                    To: r.correlationFilter.to,
                    Properties: r.correlationFilter.applicationProperties,
                  }),
                },
              })),
            })),
          })),
        },
      ],
    },
  };
  return parseEmulatorConfig(config);
}

// ---- Resolved entity settings the broker uses -------------------------------------------------------------------

export interface ReceiveEntitySettings {
  lockDurationInMs: number;
  maxDeliveryCount: number;
  requiresSession: boolean;
  defaultMessageTimeToLiveInMs: number;
  deadLetteringOnMessageExpiration: boolean;
}

export interface SendEntitySettings {
  requiresDuplicateDetection: boolean;
  duplicateDetectionHistoryTimeWindowInMs: number;
  defaultMessageTimeToLiveInMs: number;
}

export interface QueueDefinition {
  kind: 'queue';
  name: string;
  send: SendEntitySettings;
  receive: ReceiveEntitySettings;
}

export interface SubscriptionDefinition {
  name: string;
  receive: ReceiveEntitySettings;
  /** The subscription's rules at start: the configured ones, or `$Default` (a TrueFilter). None selects nothing. */
  rules: RuleDefinition[];
}

export interface TopicDefinition {
  kind: 'topic';
  name: string;
  send: SendEntitySettings;
  subscriptions: SubscriptionDefinition[];
}

export type EntityDefinition = QueueDefinition | TopicDefinition;

/** Azure's defaults for what a Config.json leaves out (TTL "infinite" is TimeSpan.MaxValue in Azure). */
export const entityDefaults = {
  lockDurationInMs: 60_000,
  maxDeliveryCount: 10,
  duplicateDetectionHistoryTimeWindowInMs: 600_000,
  defaultMessageTimeToLiveInMs: Number.POSITIVE_INFINITY,
} as const;

const ms = (iso: string | undefined, fallback: number): number => (iso === undefined ? fallback : parseIsoDurationInMs(iso)!);

function receiveSettings(p: z.infer<typeof subscriptionProperties> | undefined): ReceiveEntitySettings {
  return {
    lockDurationInMs: ms(p?.LockDuration, entityDefaults.lockDurationInMs),
    maxDeliveryCount: p?.MaxDeliveryCount ?? entityDefaults.maxDeliveryCount,
    requiresSession: p?.RequiresSession ?? false,
    defaultMessageTimeToLiveInMs: ms(p?.DefaultMessageTimeToLive, entityDefaults.defaultMessageTimeToLiveInMs),
    deadLetteringOnMessageExpiration: p?.DeadLetteringOnMessageExpiration ?? false,
  };
}

function sendSettings(p: z.infer<typeof topicProperties> | undefined): SendEntitySettings {
  return {
    requiresDuplicateDetection: p?.RequiresDuplicateDetection ?? false,
    duplicateDetectionHistoryTimeWindowInMs: ms(p?.DuplicateDetectionHistoryTimeWindow, entityDefaults.duplicateDetectionHistoryTimeWindowInMs),
    defaultMessageTimeToLiveInMs: ms(p?.DefaultMessageTimeToLive, entityDefaults.defaultMessageTimeToLiveInMs),
  };
}

/** Flattens a validated configuration into entity definitions (all namespaces share one address space). */
export function toEntityDefinitions(config: EmulatorConfig, createdAt = Date.now()): EntityDefinition[] {
  const out: EntityDefinition[] = [];
  for (const ns of config.UserConfig.Namespaces) {
    for (const q of ns.Queues ?? []) {
      out.push({ kind: 'queue', name: q.Name, send: sendSettings(q.Properties), receive: receiveSettings(q.Properties) });
    }
    for (const t of ns.Topics ?? []) {
      out.push({
        kind: 'topic',
        name: t.Name,
        send: sendSettings(t.Properties),
        subscriptions: (t.Subscriptions ?? []).map((s) => ({
          name: s.Name,
          receive: {
            ...receiveSettings(s.Properties),
            // A subscription inherits the topic's TTL unless it sets a shorter one (Azure takes the smaller value).
            defaultMessageTimeToLiveInMs: Math.min(
              ms(s.Properties?.DefaultMessageTimeToLive, entityDefaults.defaultMessageTimeToLiveInMs),
              sendSettings(t.Properties).defaultMessageTimeToLiveInMs,
            ),
          },
          rules: s.Rules && s.Rules.length > 0 ? s.Rules.map((r) => toRuleDefinition(r, createdAt)) : [defaultRule(createdAt)],
        })),
      });
    }
  }
  return out;
}

// A subscription's rules: what each one is (true, false, SQL or correlation filter, optional SQL action), how a message
// is routed through them, and Service Bus's limits. Routing follows "Topic filters and actions" on Microsoft Learn:
// every matching rule without an action contributes to one shared copy; each matching rule with an action makes its
// own copy, edited by the action and carrying the rule's name in the `RuleName` application property.
import { compileRuleAction, putProperty, type CompiledRuleAction, type PropertyEdits } from './ruleAction';
import { compileSqlFilter, FilterEvaluationError, type CompiledSqlFilter } from './sqlFilter';
import type { FilterableMessage } from './systemProperties';

export const defaultRuleName = '$Default';

/** Service Bus quotas ("Service Bus quotas" on Microsoft Learn): per topic, and the longest rule name. */
export const ruleQuotas = { sqlFiltersPerTopic: 2000, correlationFiltersPerTopic: 100_000, maxRuleNameLength: 50 } as const;

export type CorrelationPropertyValue = string | number | boolean;

export interface CorrelationFilterDefinition {
  correlationId?: string;
  messageId?: string;
  to?: string;
  replyTo?: string;
  subject?: string;
  sessionId?: string;
  replyToSessionId?: string;
  contentType?: string;
  properties?: Record<string, CorrelationPropertyValue>;
}

export type RuleFilterDefinition =
  | { kind: 'true' }
  | { kind: 'false' }
  | { kind: 'sql'; expression: string }
  | { kind: 'correlation'; correlation: CorrelationFilterDefinition };

/** A rule as it is configured, created, listed and persisted (plain data, JSON-safe). */
export interface RuleDefinition {
  name: string;
  filter: RuleFilterDefinition;
  /** A SQL rule action; absent = the empty rule action. */
  action?: string;
  /** When the rule was created (ms since epoch). */
  createdAt: number;
}

export interface SubscriptionRule {
  readonly definition: RuleDefinition;
  matches(message: FilterableMessage): boolean;
  readonly action?: CompiledRuleAction;
}

/** A rule Service Bus would refuse (bad SQL, empty correlation filter, bad name): an argument error. */
export class RuleDefinitionError extends Error {
  override readonly name = 'RuleDefinitionError';
}

export function defaultRule(createdAt = Date.now()): RuleDefinition {
  return { name: defaultRuleName, filter: { kind: 'true' }, createdAt };
}

/** SQL, true and false filters count against the topic's SQL-filter quota; correlation filters against their own. */
export function quotaKind(filter: RuleFilterDefinition): 'sql' | 'correlation' {
  return filter.kind === 'correlation' ? 'correlation' : 'sql';
}

const correlationKeys = ['correlationId', 'messageId', 'to', 'replyTo', 'subject', 'sessionId', 'replyToSessionId', 'contentType'] as const;

function correlationMatcher(f: CorrelationFilterDefinition): (m: FilterableMessage) => boolean {
  const entries = Object.entries(f.properties ?? {});
  if (entries.length === 0 && correlationKeys.every((k) => f[k] === undefined)) {
    throw new RuleDefinitionError('A correlation filter must set at least one property to match.');
  }
  // Exact, case-sensitive equality on every property the filter sets (a logical AND).
  return (m) => correlationKeys.every((k) => f[k] === undefined || f[k] === m[k]) && entries.every(([key, value]) => m.applicationProperties?.[key] === value);
}

function checkName(name: string): void {
  if (name.length === 0) throw new RuleDefinitionError('The rule name must not be empty.');
  if (name.length > ruleQuotas.maxRuleNameLength) {
    throw new RuleDefinitionError(`The rule name '${name.slice(0, 60)}…' is ${name.length} characters long; Service Bus allows at most ${ruleQuotas.maxRuleNameLength}.`);
  }
  if (/\p{Cc}/u.test(name)) throw new RuleDefinitionError('The rule name must not contain control characters.');
}

/** Validates a definition and prepares it for routing. Throws SqlSyntaxError or RuleDefinitionError. */
export function compileRule(definition: RuleDefinition): SubscriptionRule {
  checkName(definition.name);
  const f = definition.filter;
  let filter: CompiledSqlFilter | ((m: FilterableMessage) => boolean);
  switch (f.kind) {
    case 'true':
      filter = () => true;
      break;
    case 'false':
      filter = () => false;
      break;
    case 'sql':
      filter = compileSqlFilter(f.expression);
      break;
    case 'correlation':
      filter = correlationMatcher(f.correlation);
      break;
  }
  const matches = typeof filter === 'function' ? filter : filter.matches.bind(filter);
  const action = definition.action === undefined ? undefined : compileRuleAction(definition.action);
  return { definition, matches, action };
}

/** One message for the subscription: unchanged (`edits` absent) or made by a rule's action. */
export interface RoutedCopy {
  edits?: PropertyEdits;
}

/**
 * The copies a subscription keeps of one message. A rule whose filter or action fails to evaluate (a type mismatch,
 * a division by zero) selects nothing.
 */
export function route(rules: readonly SubscriptionRule[], message: FilterableMessage): RoutedCopy[] {
  const copies: RoutedCopy[] = [];
  let plain = false;
  for (const rule of rules) {
    try {
      if (!rule.matches(message)) continue;
      if (!rule.action) {
        plain = true;
        continue;
      }
      const edits = rule.action.apply(message);
      putProperty(edits.set, 'RuleName', rule.definition.name);
      edits.remove = edits.remove.filter((k) => k !== 'RuleName');
      copies.push({ edits });
    } catch (error) {
      if (!(error instanceof FilterEvaluationError)) throw error;
    }
  }
  return plain ? [{}, ...copies] : copies;
}

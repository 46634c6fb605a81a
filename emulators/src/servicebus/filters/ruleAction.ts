// SQL rule actions (`SET p = expr`, `REMOVE p`): evaluated against the message that matched the filter, producing the
// property changes for the subscription's copy. The changes are private to that copy, as in Service Bus.
import { evaluate, fromSqlValue, FilterEvaluationError, checkSystemProperties } from './sqlFilter';
import { parseSqlAction, SqlSyntaxError, type SqlActionStatement } from './sqlSyntax';
import { lookupSystemProperty, type FilterableMessage, type SettableSystemField } from './systemProperties';

/** What an action changes: system fields (undefined = cleared) and application properties (set or removed). */
export interface PropertyEdits {
  system: Partial<Record<SettableSystemField, string | undefined>>;
  set: Record<string, unknown>;
  remove: string[];
}

export interface CompiledRuleAction {
  readonly expression: string;
  /** The edits, computed on a working view so later statements see earlier ones. Throws FilterEvaluationError. */
  apply(message: FilterableMessage): PropertyEdits;
}

/** Plain assignment would treat a property named `__proto__` as the prototype; user names are data, not keys of ours. */
export function putProperty(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

function settableField(name: string): SettableSystemField {
  const found = lookupSystemProperty(name);
  if (!found.ok) throw new SqlSyntaxError(0, `sys.${name}`, found.reason);
  if (!found.settable) throw new SqlSyntaxError(0, `sys.${name}`, `the system property 'sys.${name}' cannot be set by a rule action`);
  return found.field as SettableSystemField;
}

function check(statements: SqlActionStatement[]): void {
  for (const s of statements) {
    if (s.property.scope === 'sys') settableField(s.property.name);
    if (s.kind === 'set') checkSystemProperties(s.value);
  }
}

/** Parses and checks an action; throws SqlSyntaxError with Service Bus's wording when it is refused. */
export function compileRuleAction(expression: string): CompiledRuleAction {
  const statements = parseSqlAction(expression);
  check(statements);
  return {
    expression,
    apply(message) {
      const view: FilterableMessage = { ...message, applicationProperties: {} };
      for (const [k, v] of Object.entries(message.applicationProperties ?? {})) putProperty(view.applicationProperties!, k, v);
      const user = view.applicationProperties!;
      const edits: PropertyEdits = { system: {}, set: {}, remove: [] };
      /** An existing user property is addressed by its own spelling (names are case-insensitive). */
      const userKey = (name: string): string => Object.keys(user).find((k) => k.toLowerCase() === name.toLowerCase()) ?? name;
      for (const statement of statements) {
        const { scope, name } = statement.property;
        if (scope === 'sys') {
          const field = settableField(name);
          let next: string | undefined;
          if (statement.kind === 'set') {
            const value = evaluate(statement.value, view);
            if (value !== undefined && value.type !== 'null' && value.type !== 'string') {
              throw new FilterEvaluationError(`sys.${name} must be set to a string, got ${value.type}`);
            }
            next = value?.type === 'string' ? value.value : undefined;
          }
          view[field] = next;
          edits.system[field] = next;
        } else {
          const key = userKey(name);
          if (statement.kind === 'set') {
            const value = evaluate(statement.value, view);
            // Setting a property to an unknown value (a missing property) leaves it as it was.
            if (value === undefined) continue;
            putProperty(user, key, fromSqlValue(value));
            putProperty(edits.set, key, user[key]);
            edits.remove = edits.remove.filter((k) => k !== key);
          } else {
            delete user[key];
            delete edits.set[key];
            if (!edits.remove.includes(key)) edits.remove.push(key);
          }
        }
      }
      return edits;
    },
  };
}

// JSON.stringify silently drops or rewrites values (NaN -> null, Map -> {}, undefined in arrays -> null) and throws on
// cycles and BigInt. An outbox payload must arrive exactly as the maker built it, so anything JSON cannot carry
// faithfully is rejected up front with the path of the offending value. The walk stops at a nesting depth limit, so a
// value nested thousands deep is reported, not a stack overflow.
import { MAX_JSON_DEPTH } from './jsonCheck';

export interface JsonValueProblem {
  /** 'depth': nested deeper than the limit; 'value': a value JSON cannot carry faithfully. */
  kind: 'depth' | 'value';
  /** Where and what, e.g. "payload.items[2].total is a BigInt" (paths and types only, never the values). */
  detail: string;
}

/**
 * The first problem of `value` as a JSON value, or undefined when JSON.stringify carries it faithfully and it is nested
 * (objects and arrays) at most `maxDepth` deep.
 */
export function findJsonValueProblem(value: unknown, path: string, maxDepth = Infinity): JsonValueProblem | undefined {
  const ancestors: object[] = [];
  const bad = (detail: string): JsonValueProblem => ({ kind: 'value', detail });

  function visit(current: unknown, at: string, inArray: boolean): JsonValueProblem | undefined {
    switch (typeof current) {
      case 'string':
      case 'boolean':
        return undefined;
      case 'number':
        return Number.isFinite(current) ? undefined : bad(`${at} is ${String(current)}, which JSON cannot represent`);
      case 'bigint':
        return bad(`${at} is a BigInt, which JSON cannot represent (convert it to a string)`);
      case 'function':
        return bad(`${at} is a function`);
      case 'symbol':
        return bad(`${at} is a symbol`);
      case 'undefined':
        // An undefined object property is simply omitted; at the top or inside an array it would be lost or become null.
        return inArray || at === path ? bad(`${at} is undefined`) : undefined;
      default:
        break;
    }
    if (current === null) return undefined;
    const obj = current as object;
    if (obj instanceof Date) return Number.isNaN(obj.getTime()) ? bad(`${at} is an invalid Date`) : undefined;
    if (ancestors.indexOf(obj) >= 0) return bad(`${at} refers back to one of its parents (circular structure)`);
    if (ancestors.length >= maxDepth) return { kind: 'depth', detail: `${at} is nested deeper than ${maxDepth} levels` };
    if (Array.isArray(obj)) {
      ancestors.push(obj);
      for (let i = 0; i < obj.length; i++) {
        const problem = visit(obj[i], `${at}[${i}]`, true);
        if (problem) return problem;
      }
      ancestors.pop();
      return undefined;
    }
    const proto = Object.getPrototypeOf(obj) as object | null;
    if (proto !== Object.prototype && proto !== null) {
      const kind = (obj.constructor && obj.constructor.name) || 'object';
      if (typeof (obj as { toJSON?: unknown }).toJSON !== 'function') {
        return bad(`${at} is a ${kind}, which JSON cannot represent faithfully (use a plain object or array)`);
      }
    }
    ancestors.push(obj);
    for (const key of Object.keys(obj)) {
      const problem = visit((obj as Record<string, unknown>)[key], /^[A-Za-z_$][\w$]*$/.test(key) ? `${at}.${key}` : `${at}[${JSON.stringify(key)}]`, false);
      if (problem) return problem;
    }
    ancestors.pop();
    return undefined;
  }

  return visit(value, path, false);
}

/**
 * Returns undefined when `value` is JSON-safe (nested at most MAX_JSON_DEPTH deep), otherwise a description such as
 * "payload.items[2].total is a BigInt".
 */
export function findJsonProblem(value: unknown, path: string): string | undefined {
  const problem = findJsonValueProblem(value, path, MAX_JSON_DEPTH);
  return problem && problem.detail;
}

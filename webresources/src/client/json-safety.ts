// JSON.stringify silently drops or rewrites values (NaN -> null, Map -> {}, undefined in arrays -> null) and throws on
// cycles and BigInt. An outbox payload must arrive exactly as the maker built it, so anything JSON cannot carry
// faithfully is rejected up front with the path of the offending value.

/** Returns undefined when `value` is JSON-safe, otherwise a description such as "payload.items[2].total is a BigInt". */
export function findJsonProblem(value: unknown, path: string): string | undefined {
  const ancestors: object[] = [];

  function visit(current: unknown, at: string, inArray: boolean): string | undefined {
    switch (typeof current) {
      case 'string':
      case 'boolean':
        return undefined;
      case 'number':
        return Number.isFinite(current) ? undefined : `${at} is ${String(current)}, which JSON cannot represent`;
      case 'bigint':
        return `${at} is a BigInt, which JSON cannot represent (convert it to a string)`;
      case 'function':
        return `${at} is a function`;
      case 'symbol':
        return `${at} is a symbol`;
      case 'undefined':
        // An undefined object property is simply omitted; at the top or inside an array it would be lost or become null.
        return inArray || at === path ? `${at} is undefined` : undefined;
      default:
        break;
    }
    if (current === null) return undefined;
    const obj = current as object;
    if (obj instanceof Date) return Number.isNaN(obj.getTime()) ? `${at} is an invalid Date` : undefined;
    if (ancestors.indexOf(obj) >= 0) return `${at} refers back to one of its parents (circular structure)`;
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
        return `${at} is a ${kind}, which JSON cannot represent faithfully (use a plain object or array)`;
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

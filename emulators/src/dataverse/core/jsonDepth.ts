// Nesting bound for JSON request bodies: checked on the raw text before JSON.parse, so a body nested thousands deep is
// refused with a 400 instead of overflowing the stack of whatever walks the parsed value afterwards.

/** OData's message reader refuses payloads nested deeper than 100 (ODataMessageQuotas.MaxNestingDepth). */
export const MAX_JSON_DEPTH = 100;

/** The deepest array/object nesting in `text`, stopping early once `limit` is passed (brackets inside strings ignored). */
export function jsonDepthExceeds(text: string, limit = MAX_JSON_DEPTH): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > limit) return true;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return false;
}

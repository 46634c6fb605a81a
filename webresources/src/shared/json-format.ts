// Re-indents JSON text token by token. Unlike JSON.stringify(JSON.parse(x), null, 2) it never re-encodes values,
// so big integers, number spellings and string escapes are shown exactly as stored.
export function formatJsonText(text: string, indent = '  '): string {
  let out = '';
  let depth = 0;
  let inString = false;
  let escaped = false;
  const newline = () => '\n' + indent.repeat(depth);
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (inString) {
      out += ch;
      if (escaped) escaped = false;
      else if (ch === '\\') escaped = true;
      else if (ch === '"') inString = false;
      continue;
    }
    switch (ch) {
      case '"':
        inString = true;
        out += ch;
        break;
      case '{':
      case '[': {
        // Keep empty containers on one line.
        let j = i + 1;
        while (j < text.length && /\s/.test(text[j])) j++;
        if (text[j] === (ch === '{' ? '}' : ']')) {
          out += ch + text[j];
          i = j;
        } else {
          depth++;
          out += ch + newline();
        }
        break;
      }
      case '}':
      case ']':
        depth = Math.max(0, depth - 1);
        out += newline() + ch;
        break;
      case ',':
        out += ',' + newline();
        break;
      case ':':
        out += ': ';
        break;
      case ' ':
      case '\t':
      case '\n':
      case '\r':
        break;
      default:
        out += ch;
    }
  }
  return out;
}

// Whether a payload is JSON (and shown formatted): the contract's rule, the one the writers check and the publisher sends by.
export { isJsonContentType } from '@dataverse-outbox/contract';

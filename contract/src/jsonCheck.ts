// One pass over a JSON payload before it is parsed or sent: is it JSON, and how deeply nested? Iterative (a payload
// nested 10,000 deep must not overflow anything here), and its findings say where, never what: payload characters
// are data of the business and must not reach obx_lasterror or logs. The publisher checks every row with it before
// sending (a row that fails ends Failed on its own) and both writers check a payload with it before writing (outboxRow.ts).

/**
 * Deepest JSON nesting sent (objects and arrays). Far beyond any event a producer means to send, and far below what
 * overflows the AMQP encoder (a payload nested 10,000 deep does).
 */
export const MAX_JSON_DEPTH = 64;

export interface JsonProblem {
  kind: 'syntax' | 'depth';
  /** 0-based character offset, with 1-based line and column for people. */
  position: number;
  line: number;
  column: number;
  /** What was expected there, in words (never the payload's own characters). */
  detail: string;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const HEX4 = /[0-9a-fA-F]{4}/y;
const ESCAPABLE = new Set(['"', '\\', '/', 'b', 'f', 'n', 'r', 't']);

type Expect = 'value' | 'valueOrClose' | 'key' | 'keyOrClose' | 'colon' | 'commaOrClose' | 'end';

function where(text: string, position: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < position && i < text.length; i++) {
    if (text.charCodeAt(i) === 0x0a) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: position - lineStart + 1 };
}

/** The first problem of `text` as JSON (RFC 8259), or undefined when it is JSON nested at most `maxDepth` deep. */
export function checkJson(text: string, maxDepth: number): JsonProblem | undefined {
  const n = text.length;
  const stack: number[] = [];
  let i = 0;
  let expect: Expect = 'value';
  const problem = (kind: JsonProblem['kind'], detail: string, at = i): JsonProblem => ({ kind, position: at, ...where(text, at), detail });
  const afterValue = (): Expect => (stack.length === 0 ? 'end' : 'commaOrClose');
  const scanString = (): JsonProblem | undefined => {
    const start = i;
    i++;
    for (;;) {
      if (i >= n) return problem('syntax', 'a string that is never closed', start);
      const c = text.charCodeAt(i);
      if (c === QUOTE) {
        i++;
        return undefined;
      }
      if (c < 0x20) return problem('syntax', 'a control character inside a string (it must be escaped)');
      if (c === BACKSLASH) {
        const e = text[i + 1];
        if (e === 'u') {
          HEX4.lastIndex = i + 2;
          if (!HEX4.test(text)) return problem('syntax', 'an invalid \\u escape (four hex digits expected)');
          i += 6;
        } else if (e !== undefined && ESCAPABLE.has(e)) {
          i += 2;
        } else {
          return problem('syntax', 'an invalid escape sequence');
        }
        continue;
      }
      i++;
    }
  };
  for (;;) {
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) break;
      i++;
    }
    if (i >= n) return expect === 'end' ? undefined : problem('syntax', 'the payload ends before the JSON value is complete');
    const c = text.charCodeAt(i);
    switch (expect) {
      case 'end':
        return problem('syntax', 'more text after the JSON value');
      case 'colon':
        if (c !== 0x3a) return problem('syntax', "':' expected after a property name");
        i++;
        expect = 'value';
        continue;
      case 'key':
      case 'keyOrClose': {
        if (c === CLOSE_OBJECT && expect === 'keyOrClose') {
          i++;
          stack.pop();
          expect = afterValue();
          continue;
        }
        if (c !== QUOTE) return problem('syntax', 'a property name in double quotes expected');
        const bad = scanString();
        if (bad) return bad;
        expect = 'colon';
        continue;
      }
      case 'commaOrClose': {
        const open = stack[stack.length - 1];
        if (c === 0x2c) {
          i++;
          expect = open === OPEN_OBJECT ? 'key' : 'value';
          continue;
        }
        if ((c === CLOSE_OBJECT && open === OPEN_OBJECT) || (c === CLOSE_ARRAY && open === OPEN_ARRAY)) {
          i++;
          stack.pop();
          expect = afterValue();
          continue;
        }
        return problem('syntax', open === OPEN_OBJECT ? "',' or '}' expected" : "',' or ']' expected");
      }
      case 'value':
      case 'valueOrClose': {
        if (c === CLOSE_ARRAY && expect === 'valueOrClose') {
          i++;
          stack.pop();
          expect = afterValue();
          continue;
        }
        if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
          if (stack.length >= maxDepth) return problem('depth', `nesting deeper than ${maxDepth} levels`);
          stack.push(c);
          i++;
          expect = c === OPEN_OBJECT ? 'keyOrClose' : 'valueOrClose';
          continue;
        }
        if (c === QUOTE) {
          const bad = scanString();
          if (bad) return bad;
          expect = afterValue();
          continue;
        }
        const literal = ['true', 'false', 'null'].find((w) => text.startsWith(w, i));
        if (literal) {
          i += literal.length;
          expect = afterValue();
          continue;
        }
        NUMBER.lastIndex = i;
        if (NUMBER.test(text)) {
          i = NUMBER.lastIndex;
          expect = afterValue();
          continue;
        }
        return problem('syntax', 'a JSON value expected');
      }
    }
  }
}

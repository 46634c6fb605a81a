// A structural reader for the Bicep files in pipelines/infra (no Bicep compiler is available from npm, and the
// tests must run offline). It understands declarations (param, var, resource, module, output, targetScope),
// decorators, and object/array literals, keeping any other expression as raw text. Enough to check what
// the files declare and wire, not to evaluate them.

export type BicepValue =
  | { kind: 'object'; entries: Record<string, BicepValue> }
  | { kind: 'array'; items: BicepValue[]; loop?: string }
  | { kind: 'string'; value: string; interpolated: boolean }
  | { kind: 'number'; value: number }
  | { kind: 'bool'; value: boolean }
  | { kind: 'expr'; text: string };

export interface Declaration {
  keyword: 'param' | 'var' | 'resource' | 'module' | 'output' | 'targetScope' | 'metadata' | 'type' | 'import' | 'func';
  name: string;
  decorators: string[];
  /** param/output type, resource type ('Microsoft.X/y@version') or module path. */
  type?: string;
  existing?: boolean;
  condition?: string;
  value?: BicepValue;
  /** Declaration text without comments (for usage searches). */
  text: string;
}

export interface BicepFile {
  declarations: Declaration[];
  params: Map<string, Declaration>;
  resources: Declaration[];
  modules: Declaration[];
  outputs: Map<string, Declaration>;
  vars: Map<string, Declaration>;
  /** Source without comments. */
  code: string;
}

/** Removes // and /* *\/ comments outside strings (Bicep strings: '...', with \\' escapes, and '''...'''). */
export function stripComments(source: string): string {
  let out = '';
  for (let i = 0; i < source.length; ) {
    if (source.startsWith("'''", i)) {
      const end = source.indexOf("'''", i + 3);
      const stop = end < 0 ? source.length : end + 3;
      out += source.slice(i, stop);
      i = stop;
    } else if (source[i] === "'") {
      let j = i + 1;
      while (j < source.length && source[j] !== "'") j += source[j] === '\\' ? 2 : 1;
      out += source.slice(i, j + 1);
      i = j + 1;
    } else if (source.startsWith('//', i)) {
      while (i < source.length && source[i] !== '\n') i++;
    } else if (source.startsWith('/*', i)) {
      const end = source.indexOf('*/', i + 2);
      i = end < 0 ? source.length : end + 2;
    } else {
      out += source[i];
      i++;
    }
  }
  return out;
}

class Reader {
  pos = 0;
  constructor(readonly src: string) {}
  skipSpace(newlines = true): void {
    while (this.pos < this.src.length && (newlines ? /\s/ : /[ \t\r]/).test(this.src[this.pos] as string)) this.pos++;
  }
  peek(text: string): boolean {
    return this.src.startsWith(text, this.pos);
  }
  expect(text: string): void {
    if (!this.peek(text)) throw new Error(`expected "${text}" at ${this.where()}`);
    this.pos += text.length;
  }
  word(): string {
    const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(this.src.slice(this.pos));
    if (!m) throw new Error(`expected a name at ${this.where()}`);
    this.pos += m[0].length;
    return m[0];
  }
  where(): string {
    const line = this.src.slice(0, this.pos).split('\n').length;
    return `line ${line}: ${JSON.stringify(this.src.slice(this.pos, this.pos + 40))}`;
  }
  /** Raw text up to the end of a balanced expression (newline, ',', or a closing bracket at depth 0). */
  expression(): string {
    const start = this.pos;
    let depth = 0;
    while (this.pos < this.src.length) {
      const c = this.src[this.pos] as string;
      if (c === "'") {
        this.string();
        continue;
      }
      if ('([{'.includes(c)) depth++;
      else if (')]}'.includes(c)) {
        if (depth === 0) break;
        depth--;
      } else if ((c === '\n' || c === ',') && depth === 0) break;
      this.pos++;
    }
    return this.src.slice(start, this.pos).trim();
  }
  string(): { value: string; interpolated: boolean } {
    if (this.peek("'''")) {
      const end = this.src.indexOf("'''", this.pos + 3);
      const value = this.src.slice(this.pos + 3, end);
      this.pos = end + 3;
      return { value, interpolated: false };
    }
    this.expect("'");
    let value = '';
    while (this.pos < this.src.length && this.src[this.pos] !== "'") {
      if (this.src[this.pos] === '\\') {
        value += this.src[this.pos + 1];
        this.pos += 2;
      } else value += this.src[this.pos++];
    }
    this.expect("'");
    return { value, interpolated: value.includes('${') };
  }
  value(): BicepValue {
    this.skipSpace();
    const start = this.pos;
    let result: BicepValue;
    if (this.peek('{')) result = this.object();
    else if (this.peek('[')) result = this.array();
    else if (this.peek("'")) result = { kind: 'string', ...this.string() };
    else if (/^-?\d/.test(this.src.slice(this.pos, this.pos + 2))) {
      const m = /^-?\d+(\.\d+)?/.exec(this.src.slice(this.pos)) as RegExpExecArray;
      this.pos += m[0].length;
      result = { kind: 'number', value: Number(m[0]) };
    } else if (/^(true|false)\b/.test(this.src.slice(this.pos))) {
      const v = this.peek('true');
      this.pos += v ? 4 : 5;
      result = { kind: 'bool', value: v };
    } else return { kind: 'expr', text: this.expression() };
    // A literal followed by more expression (e.g. `'a' == x ? ...`) is an expression.
    const save = this.pos;
    this.skipSpace(false);
    if (this.pos < this.src.length && !/[\n,)\]}]/.test(this.src[this.pos] as string)) {
      this.pos = start;
      return { kind: 'expr', text: this.expression() };
    }
    this.pos = save;
    return result;
  }
  object(): BicepValue {
    this.expect('{');
    const entries: Record<string, BicepValue> = {};
    for (;;) {
      this.skipSpace();
      if (this.peek(',')) {
        this.pos++;
        continue;
      }
      if (this.peek('}')) {
        this.pos++;
        return { kind: 'object', entries };
      }
      const key = this.peek("'") ? this.string().value : this.word();
      this.skipSpace();
      this.expect(':');
      entries[key] = this.value();
    }
  }
  array(): BicepValue {
    this.expect('[');
    this.skipSpace();
    if (this.peek('for ')) {
      const head = this.src.slice(this.pos, this.src.indexOf(':', this.pos));
      this.pos += head.length + 1;
      const item = this.value();
      this.skipSpace();
      this.expect(']');
      return { kind: 'array', items: [item], loop: head.trim() };
    }
    const items: BicepValue[] = [];
    for (;;) {
      this.skipSpace();
      if (this.peek(',')) {
        this.pos++;
        continue;
      }
      if (this.peek(']')) {
        this.pos++;
        return { kind: 'array', items };
      }
      items.push(this.value());
    }
  }
}

export function parseBicep(source: string): BicepFile {
  const code = stripComments(source);
  const r = new Reader(code);
  const declarations: Declaration[] = [];
  let decorators: string[] = [];
  for (;;) {
    r.skipSpace();
    if (r.pos >= code.length) break;
    const start = r.pos;
    if (r.peek('@')) {
      r.pos++;
      const name = r.word();
      r.expression();
      decorators.push(name);
      continue;
    }
    const keyword = r.word() as Declaration['keyword'];
    r.skipSpace(false);
    const decl: Declaration = { keyword, name: '', decorators, text: '' };
    decorators = [];
    switch (keyword) {
      case 'targetScope':
        r.skipSpace();
        r.expect('=');
        decl.name = 'targetScope';
        decl.value = r.value();
        break;
      case 'param':
      case 'output':
        decl.name = r.word();
        r.skipSpace(false);
        decl.type = r.word();
        r.skipSpace(false);
        if (r.peek('=')) {
          r.pos++;
          decl.value = r.value();
        }
        break;
      case 'var':
        decl.name = r.word();
        r.skipSpace();
        r.expect('=');
        decl.value = r.value();
        break;
      case 'resource':
      case 'module':
        decl.name = r.word();
        r.skipSpace(false);
        decl.type = r.string().value;
        r.skipSpace(false);
        if (r.peek('existing')) {
          decl.existing = true;
          r.pos += 'existing'.length;
        }
        r.skipSpace(false);
        r.expect('=');
        r.skipSpace(false);
        if (r.peek('if')) {
          r.pos += 2;
          r.skipSpace(false);
          decl.condition = r.expression();
          r.skipSpace(false);
        }
        decl.value = r.value();
        break;
      default:
        throw new Error(`unsupported declaration "${keyword}" at ${r.where()}`);
    }
    decl.text = code.slice(start, r.pos);
    declarations.push(decl);
  }
  const byName = (k: Declaration['keyword']) => new Map(declarations.filter((d) => d.keyword === k).map((d) => [d.name, d]));
  return {
    declarations,
    params: byName('param'),
    vars: byName('var'),
    outputs: byName('output'),
    resources: declarations.filter((d) => d.keyword === 'resource'),
    modules: declarations.filter((d) => d.keyword === 'module'),
    code,
  };
}

/** Property lookup in an object literal by dotted path; loops (`[for ...]`) are looked into. */
export function prop(value: BicepValue | undefined, dotted: string): BicepValue | undefined {
  let current = value;
  for (const key of dotted.split('.')) {
    if (current?.kind === 'array' && current.loop) current = current.items[0];
    if (current?.kind !== 'object') return undefined;
    current = current.entries[key];
  }
  return current;
}

/** Literal value (string, number, bool) or the raw expression text. */
export function literal(value: BicepValue | undefined): string | number | boolean | undefined {
  if (!value) return undefined;
  switch (value.kind) {
    case 'string':
    case 'number':
    case 'bool':
      return value.value;
    case 'expr':
      return value.text;
    default:
      return undefined;
  }
}

// A model of how Windows runs `cmd.exe /d /s /c "<line>"` for a .cmd shim that forwards `%*` to a program (az.cmd,
// npm.cmd), for tests on machines without Windows: cmd's percent expansion and its caret/quote/operator pass, once
// for the command line and once more when the shim's line is re-parsed with `%*` substituted, then the program's
// MSVCRT argument parser. It throws where the real cmd.exe would run something else (`&`, `|`, `<`, `>` outside quotes).
// A model, documented from learn.microsoft.com (cmd, "Parsing C++ command-line arguments") and
// https://qntm.org/cmd: it keeps the parts that decide whether an argument arrives intact.

interface Char {
  ch: string;
  /** Escaped with ^ or inside quotes: never a separator or an operator. */
  literal: boolean;
}

/** Phase 1 on a command line: %NAME% of a defined variable is replaced; anything else stays as written. */
export function expandPercent(line: string, env: Record<string, string>): string {
  let out = '';
  let i = 0;
  while (i < line.length) {
    const start = line.indexOf('%', i);
    if (start < 0) return out + line.slice(i);
    out += line.slice(i, start);
    const end = line.indexOf('%', start + 1);
    const name = end < 0 ? undefined : line.slice(start + 1, end);
    const key = name === undefined ? undefined : Object.keys(env).find((k) => k.toLowerCase() === name.toLowerCase());
    if (key !== undefined && end >= 0) {
      out += env[key];
      i = end + 1;
    } else {
      out += '%';
      i = start + 1;
    }
  }
  return out;
}

/** Phase 2: quotes toggle quoting (and stay), ^ outside quotes escapes the next character, & | < > outside quotes are operators. */
export function caretPass(line: string): Char[] {
  const out: Char[] = [];
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i] as string;
    if (ch === '"') {
      quoted = !quoted;
      out.push({ ch, literal: true });
    } else if (!quoted && ch === '^') {
      i++;
      if (i < line.length) out.push({ ch: line[i] as string, literal: true });
    } else if (!quoted && '&|<>'.includes(ch)) {
      throw new Error(`cmd.exe would treat ${JSON.stringify(ch)} as an operator at ${i} of ${JSON.stringify(line)}`);
    } else {
      out.push({ ch, literal: quoted });
    }
  }
  return out;
}

/** argv as the Microsoft C runtime builds it from a command line (2008+ rules: "" inside quotes is a quote). */
export function msvcrtArgv(line: string): string[] {
  const args: string[] = [];
  let i = 0;
  while (i < line.length) {
    while (line[i] === ' ' || line[i] === '\t') i++;
    if (i >= line.length) break;
    let arg = '';
    let quoted = false;
    while (i < line.length) {
      const c = line[i] as string;
      if (c === '\\') {
        let k = 0;
        while (line[i + k] === '\\') k++;
        if (line[i + k] === '"') {
          arg += '\\'.repeat(Math.floor(k / 2));
          if (k % 2 === 1) {
            arg += '"';
            i += k + 1;
          } else {
            i += k;
          }
        } else {
          arg += '\\'.repeat(k);
          i += k;
        }
        continue;
      }
      if (c === '"') {
        if (quoted && line[i + 1] === '"') {
          arg += '"';
          i += 2;
          continue;
        }
        quoted = !quoted;
        i++;
        continue;
      }
      if (!quoted && (c === ' ' || c === '\t')) break;
      arg += c;
      i++;
    }
    args.push(arg);
  }
  return args;
}

/**
 * What the program behind a %*-forwarding shim receives when Node spawns `file args` with windowsVerbatimArguments
 * (`cmd.exe /d /s /c "<line>"`): the shim's own path and the arguments, as that program's argv sees them.
 */
export function runThroughCmdShim(args: readonly string[], env: Record<string, string>): { shim: string; argv: string[] } {
  const [d, s, c, quotedLine, ...rest] = args;
  if (d !== '/d' || s !== '/s' || c !== '/c' || rest.length > 0 || !quotedLine?.startsWith('"') || !quotedLine.endsWith('"')) {
    throw new Error(`not a cmd.exe /d /s /c "<line>" call: ${JSON.stringify(args)}`);
  }
  // /s: the first and the last quote go, the rest is the command line.
  const chars = caretPass(expandPercent(quotedLine.slice(1, -1), env));
  const split = chars.findIndex((x) => x.ch === ' ' && !x.literal);
  const shim = chars.slice(0, split < 0 ? chars.length : split).map((x) => x.ch).join('');
  const tail = split < 0 ? '' : chars.slice(split + 1).map((x) => x.ch).join('').replace(/^ +/, '');
  // The shim: `"%~dp0\program.exe" fixed-arg %*`. %* is substituted in phase 1 (its text is not expanded again), and
  // the line is parsed again by phase 2 before the program starts.
  const shimLine = `"C:\\shim\\program.exe" fixed-arg ${tail}`;
  const program = caretPass(shimLine).map((x) => x.ch).join('');
  return { shim, argv: msvcrtArgv(program).slice(2) };
}

// Issue 17: deploy ran its tools with `shell: true` on Windows and pasted arguments into the command line. Now no
// shell anywhere: on Linux/macOS a real child process must receive every argument byte for byte; on Windows, .exe
// tools are spawned directly and .cmd shims go through cmd.exe with every metacharacter escaped, checked here
// against a model of cmd.exe (support/windowsCmd.ts), since these tests run on Linux.
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { spawnSpec } from '../src/deploy/childProcess';
import { isDeployError } from '../src/deploy/errors';
import { spawnCommand } from '../src/deploy/executor';

import { caretPass, runThroughCmdShim } from './support/windowsCmd';

/** Arguments a resource group, a path or a URL could plausibly carry, and a few that only an attacker would write. */
const awkward: readonly string[] = [
  'plain',
  'with space',
  '  leading and trailing  ',
  'C:\\Program Files\\Outbox\\settings file.json',
  'say "hello"',
  '"',
  '""',
  'a&b',
  'a && calc.exe',
  '" & calc & "',
  '\\" & calc & \\"',
  'x | whoami',
  '%PATH%',
  '%OUTBOX_SECRET%',
  '100%',
  '^caret^',
  '!delayed!',
  '<in >out',
  '(parens)',
  'semi;colon,comma',
  'trailing backslash\\',
  'backslash before quote\\"',
  '\\\\server\\share\\',
  "single 'quotes'",
  '`backtick` $(subshell) $HOME',
  '*?[glob]',
  'unicode ü 日本',
  '',
];

// Windows extensions are case-insensitive; these tests run on a case-sensitive file system, so the list is lower case.
const winEnv = (dir: string): NodeJS.ProcessEnv => ({ PATH: dir, PATHEXT: '.com;.exe;.bat;.cmd', ComSpec: 'C:\\Windows\\System32\\cmd.exe' });

describe('deploy runs its tools without a shell', () => {
  const dirs: string[] = [];
  afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
  const tempDir = (): string => {
    const d = mkdtempSync(path.join(os.tmpdir(), 'outbox-spawn-'));
    dirs.push(d);
    return d;
  };

  it('a real child process receives spaces, quotes, &, |, %VAR%, $(...), newlines and empty arguments intact', async () => {
    const dir = tempDir();
    const echo = path.join(dir, 'echo-args');
    // A tiny program that prints its arguments as JSON (stands in for pac/az: the point is what arrives).
    writeFileSync(echo, `#!${process.execPath}\nprocess.stdout.write(JSON.stringify(process.argv.slice(2)));\n`);
    chmodSync(echo, 0o755);
    const args = [...awkward, 'line one\nline two', 'carriage\rreturn', 'tab\there'];
    const result = await spawnCommand(echo, args, { cwd: dir, capture: true });
    expect(result.exitCode).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual(args);
  });

  it('refuses a NUL character in an argument with a clear error, before starting anything', () => {
    expect(() => spawnSpec('az', ['ok', 'bad\0arg'], 'linux')).toThrow(/argument 2 of az contains a NUL character/);
  });

  it('on Windows spawns an .exe directly (no cmd.exe), with the resolved path and the arguments untouched', () => {
    const dir = tempDir();
    writeFileSync(path.join(dir, 'pac.exe'), '');
    const spec = spawnSpec('pac', ['solution', 'import', '--path', 'C:\\a b\\x&y.zip', 'line\nbreak'], 'win32', winEnv(dir));
    expect(spec).toEqual({ file: path.join(dir, 'pac.exe'), args: ['solution', 'import', '--path', 'C:\\a b\\x&y.zip', 'line\nbreak'], windowsVerbatimArguments: false });
  });

  it.each(awkward.map((a) => [a]))('on Windows a .cmd shim (az.cmd) receives %j intact through cmd.exe, and cmd.exe runs nothing else', (arg) => {
    const dir = tempDir();
    mkdirSync(path.join(dir, 'Program Files (x86)'), { recursive: true });
    const bin = path.join(dir, 'Program Files (x86)');
    writeFileSync(path.join(bin, 'az.cmd'), '');
    const env = winEnv(bin);
    const spec = spawnSpec('az', ['deployment', arg, '--name', 'x'], 'win32', env);
    expect(spec.file).toBe('C:\\Windows\\System32\\cmd.exe');
    expect(spec.windowsVerbatimArguments).toBe(true);
    const { shim, argv } = runThroughCmdShim(spec.args, { PATH: 'C:\\Windows', OUTBOX_SECRET: 'leaked' });
    expect(shim).toBe(path.join(bin, 'az.cmd'));
    expect(argv).toEqual(['deployment', arg, '--name', 'x']);
  });

  it('the model catches the old way: arguments joined into a shell line let cmd.exe run a second command', () => {
    // What `spawn('az', args, { shell: true })` handed cmd.exe: the arguments joined with spaces, unescaped.
    expect(() => caretPass(['az', 'group', 'create', '--name', 'rg&calc.exe'].join(' '))).toThrow(/operator/);
  });

  it('on Windows refuses a line break for a .cmd shim (cmd.exe would end the command there), naming the argument', () => {
    const dir = tempDir();
    writeFileSync(path.join(dir, 'npm.cmd'), '');
    let error: unknown;
    try {
      spawnSpec('npm', ['run', 'build\r\n-w evil'], 'win32', winEnv(dir));
    } catch (e) {
      error = e;
    }
    expect(isDeployError(error) && error.code).toBe('InvalidOption');
    expect((error as Error).message).toBe('argument 2 of npm contains a line break, which cmd.exe cannot pass to a .cmd/.bat program (it would end the command)');
  });

  it('on Windows says which tool is missing instead of letting a shell guess', () => {
    expect(() => spawnSpec('pac', [], 'win32', winEnv(tempDir()))).toThrow(/'pac' was not found on PATH/);
  });
});

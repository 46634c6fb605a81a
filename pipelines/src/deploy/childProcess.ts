// How the deploy tool starts npm, pac and az: never through a shell with arguments pasted in. On Linux and macOS the
// program is spawned directly. On Windows an .exe is spawned directly too (libuv quotes each argument for the
// program's own parser); a .cmd/.bat shim (az.cmd, npm.cmd, the MSI's pac.cmd) can only run under cmd.exe, so the
// command line is built the way cross-spawn builds it (https://qntm.org/cmd): every argument quoted for the program's
// parser, then every cmd.exe metacharacter, quotes included, caret-escaped twice (once for `cmd /c`, once more because
// the shim re-parses its `%*`), so cmd.exe never sees a quote, `&`, `|` or `%VAR%` of ours. cross-spawn itself is only
// a dev dependency of other packages here, so the deploy tool (a runtime bin) carries this small equivalent.
import { DeployError } from './errors';
import { findExecutable } from './tools';

export interface SpawnSpec {
  file: string;
  args: string[];
  /** Windows only: the arguments are already one escaped command line (the cmd.exe case). */
  windowsVerbatimArguments: boolean;
}

const CMD_META = /([()\][%!^"`<>&|;, *?])/g;

/** A character no child can receive (NUL), or one cmd.exe cannot carry inside an argument (a line break ends the command). */
export function unsafeArgumentProblem(arg: string, viaCmd: boolean): string | undefined {
  if (arg.includes('\0')) return 'contains a NUL character, which no program can receive as an argument';
  if (viaCmd && /[\r\n]/.test(arg)) return 'contains a line break, which cmd.exe cannot pass to a .cmd/.bat program (it would end the command)';
  return undefined;
}

/** One argument for `cmd.exe /d /s /c "<line>"` that runs a .cmd shim forwarding `%*` to its program. */
export function escapeCmdShimArgument(arg: string): string {
  // For the program's parser (MSVCRT / CommandLineToArgvW): backslashes before a quote are doubled and the quote is
  // escaped; backslashes at the end are doubled (they precede the closing quote). Written without backtracking.
  let quoted = '';
  let backslashes = 0;
  for (const ch of arg) {
    if (ch === '\\') {
      backslashes++;
      continue;
    }
    if (ch === '"') quoted += '\\'.repeat(backslashes * 2 + 1) + '"';
    else quoted += '\\'.repeat(backslashes) + ch;
    backslashes = 0;
  }
  quoted = `"${quoted}${'\\'.repeat(backslashes * 2)}"`;
  // Twice: `cmd /c` removes one level, the shim's re-parse of `%*` the other.
  return quoted.replace(CMD_META, '^$1').replace(CMD_META, '^$1');
}

/** The program path for the same command line (no quotes: escaped, so spaces in "Program Files" survive). */
export function escapeCmdCommand(file: string): string {
  return file.replace(CMD_META, '^$1');
}

/**
 * What to pass to child_process.spawn (always without a shell) to run `program args` with every argument arriving
 * intact, or a DeployError naming the argument that cannot.
 */
export function spawnSpec(
  program: string,
  args: readonly string[],
  platform: NodeJS.Platform = process.platform,
  env: NodeJS.ProcessEnv = process.env,
): SpawnSpec {
  if (platform !== 'win32') {
    checkArguments(program, args, false);
    return { file: program, args: [...args], windowsVerbatimArguments: false };
  }
  const resolved = findExecutable(program, env, 'win32');
  if (!resolved) throw new DeployError('ToolMissing', `'${program}' was not found on PATH`);
  if (/\.(exe|com)$/i.test(resolved)) {
    checkArguments(program, args, false);
    return { file: resolved, args: [...args], windowsVerbatimArguments: false };
  }
  if (!/\.(cmd|bat)$/i.test(resolved)) {
    throw new DeployError('ToolMissing', `'${program}' resolved to ${resolved}, which is neither an .exe nor a .cmd/.bat script`);
  }
  checkArguments(program, args, true);
  const line = [escapeCmdCommand(resolved), ...args.map(escapeCmdShimArgument)].join(' ');
  return { file: env.ComSpec ?? env.COMSPEC ?? 'cmd.exe', args: ['/d', '/s', '/c', `"${line}"`], windowsVerbatimArguments: true };
}

function checkArguments(program: string, args: readonly string[], viaCmd: boolean): void {
  for (const [i, arg] of args.entries()) {
    const problem = unsafeArgumentProblem(arg, viaCmd);
    if (problem) throw new DeployError('InvalidOption', `argument ${i + 1} of ${program} ${problem}`);
  }
}

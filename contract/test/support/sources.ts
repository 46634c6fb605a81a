// The product's own sources, for tests that prove a rule is written once: every workspace's code, without tests,
// builds, generated files or dependencies.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

export const repositoryRoot = path.resolve(__dirname, '../../..');

const skippedFolders = new Set(['node_modules', 'dist', 'out', 'test', 'generated', 'obj', 'bin', 'WebResources', 'Controls', 'examples']);

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) return skippedFolders.has(name) ? [] : walk(full);
    return /\.(ts|tsx|mjs|cjs|js)$/.test(name) && !name.endsWith('.d.ts') && !name.endsWith('.config.js') ? [full] : [];
  });
}

export interface SourceFile {
  /** Path from the repository root, with forward slashes. */
  readonly path: string;
  readonly text: string;
}

/** Every workspace's source files (listed in the root package.json), read once. */
export function productSources(): SourceFile[] {
  const workspaces = (JSON.parse(readFileSync(path.join(repositoryRoot, 'package.json'), 'utf8')) as { workspaces: string[] }).workspaces;
  return workspaces
    .flatMap((ws) => walk(path.join(repositoryRoot, ws)))
    .map((full) => ({ path: path.relative(repositoryRoot, full).split(path.sep).join('/'), text: readFileSync(full, 'utf8') }));
}

/** The code without comments, so a comment that names a value is not mistaken for a declaration of it. */
export function withoutComments(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`\\])\/\/.*$/gm, '$1');
}

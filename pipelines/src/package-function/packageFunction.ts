// Builds the publisher's zip-deploy package: host.json, a package.json whose "main" is the Functions v4 entry, and
// that entry bundled with its dependencies (workspace packages included, so the zip needs no npm install on Azure).
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { build } from 'esbuild';
import { zipSync, type Zippable } from 'fflate';

export const functionPackagePaths = {
  workspace: 'publisher-function',
  output: 'pipelines/out/publisher-function.zip',
} as const;

export interface PackageFunctionResult {
  zipFile: string;
  entries: string[];
  bytes: number;
}

export async function packageFunction(repoRoot: string, output = path.join(repoRoot, functionPackagePaths.output)): Promise<PackageFunctionResult> {
  const workspace = path.join(repoRoot, functionPackagePaths.workspace);
  const manifest = JSON.parse(readFileSync(path.join(workspace, 'package.json'), 'utf8')) as { name: string; version: string; main: string };
  // "main" points at the compiled entry (dist/...js); bundle from the matching source file.
  const main = manifest.main.replace(/^\.\//, '');
  const source = path.join(workspace, main.replace(/^dist\//, 'src/').replace(/\.js$/, '.ts'));
  const bundle = await build({
    entryPoints: [source],
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    // Workspace packages export their TypeScript sources under this condition.
    conditions: ['development'],
    // Provided by the Azure Functions Node.js worker at run time, never installed.
    external: ['@azure/functions-core'],
    write: false,
    logLevel: 'silent',
    legalComments: 'none',
  });
  const code = bundle.outputFiles[0]?.contents;
  if (!code) throw new Error(`esbuild produced no output for ${source}`);
  const files: Zippable = {
    'host.json': readFileSync(path.join(workspace, 'host.json')),
    'package.json': Buffer.from(`${JSON.stringify({ name: manifest.name.replace(/^@[^/]+\//, 'dataverse-outbox-'), version: manifest.version, private: true, main }, null, 2)}\n`),
    [main]: code,
  };
  // Fixed timestamps: the same sources give the same zip.
  const zip = zipSync(files, { level: 9, mtime: new Date('2020-01-01T00:00:00Z') });
  mkdirSync(path.dirname(output), { recursive: true });
  writeFileSync(output, zip);
  return { zipFile: output, entries: Object.keys(files), bytes: zip.length };
}

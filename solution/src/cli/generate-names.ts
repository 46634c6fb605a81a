// `npm run generate -w solution`: rewrites contract/src/generated/names.ts from the solution XML.
// `--check` only reports (exit 1) when the file is stale, for CI.
import fs from 'node:fs';

import { Command } from 'commander';

import { isSolutionError } from '../errors';
import { defaultSolutionSrcDir, namesModulePath } from '../paths';
import { checkNamesModule } from '../tooling/names-check';

const program = new Command()
  .name('generate-names')
  .description('Generate contract/src/generated/names.ts from the unpacked solution XML')
  .option('--src <dir>', 'unpacked solution folder', defaultSolutionSrcDir)
  .option('--out <file>', 'names module to write', namesModulePath)
  .option('--check', 'do not write; exit 1 when the file is stale', false)
  .parse();

const options = program.opts<{ src: string; out: string; check: boolean }>();
try {
  const result = checkNamesModule(options.src, options.out);
  if (options.check) {
    process.stdout.write(result.fresh ? `${options.out} is up to date\n` : `${options.out} is stale: run npm run generate -w solution\n`);
    process.exitCode = result.fresh ? 0 : 1;
  } else if (result.fresh) {
    process.stdout.write(`${options.out} already up to date\n`);
  } else {
    fs.writeFileSync(options.out, result.expected);
    process.stdout.write(`wrote ${options.out}\n`);
  }
} catch (error) {
  process.stderr.write(`generate-names: ${isSolutionError(error) ? error.message : String(error)}\n`);
  process.exitCode = 1;
}

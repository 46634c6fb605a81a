// `npm run build -w solution` (after tsc -b): stages the built PCF control, then packs src/ into
// out/<UniqueName>_<v_v_v_v>.zip and out/<UniqueName>_<v_v_v_v>_managed.zip.
import path from 'node:path';

import { Command } from 'commander';

import { isSolutionError } from '../errors';
import { defaultSolutionOutDir, defaultSolutionSrcDir, repositoryRootDir } from '../paths';
import { packSolutionToFolder } from '../tooling/pack';
import { stageBuiltControls } from '../tooling/stage-controls';

const program = new Command()
  .name('pack')
  .description('Pack the unpacked Dataverse solution into unmanaged and managed zips (no pac needed)')
  .option('--src <dir>', 'unpacked solution folder', defaultSolutionSrcDir)
  .option('--out <dir>', 'output folder for the zips', defaultSolutionOutDir)
  .option('--pcf-out <dir>', 'PCF build output (out/controls)', path.join(repositoryRootDir, 'pcf-outbox-monitor', 'out', 'controls'))
  .option('--no-stage', 'do not copy the PCF build output into Controls/ first')
  .parse();

const options = program.opts<{ src: string; out: string; pcfOut: string; stage: boolean }>();
const log = (message: string): void => {
  process.stdout.write(`pack: ${message}\n`);
};
try {
  if (options.stage) {
    for (const staged of stageBuiltControls(options.src, options.pcfOut)) {
      log(staged.from ? `staged ${staged.control} from ${staged.from} (${staged.files.join(', ')})` : `no build output for ${staged.control} in ${options.pcfOut}`);
    }
  }
  const result = packSolutionToFolder({ srcDir: options.src, outDir: options.out, onProgress: log });
  log(`${result.entries.length} entries: ${result.entries.join(', ')}`);
} catch (error) {
  process.stderr.write(`pack failed: ${isSolutionError(error) ? error.message : error instanceof Error ? error.stack ?? error.message : String(error)}\n`);
  process.exitCode = 1;
}

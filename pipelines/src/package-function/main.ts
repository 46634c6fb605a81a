// `npm run package-function -w pipelines`: writes pipelines/out/publisher-function.zip for zip deploy.
import path from 'node:path';

import { findRepoRoot } from '../deploy/cli';

import { packageFunction } from './packageFunction';

const started = Date.now();
packageFunction(findRepoRoot(process.env.INIT_CWD ?? process.cwd())).then(
  (r) => {
    const where = path.relative(process.cwd(), r.zipFile);
    process.stdout.write(`package-function: ${where} (${(r.bytes / 1024).toFixed(0)} KiB, ${r.entries.join(', ')}) in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
  },
  (error: unknown) => {
    process.stderr.write(`package-function failed: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  },
);

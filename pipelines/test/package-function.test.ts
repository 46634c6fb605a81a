// The zip the pipelines and the deploy tool zip-deploy: host.json, a package.json whose "main" is in the zip, and one
// bundled entry that loads on plain Node (no node_modules) and registers the publisher's functions.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { unzipSync } from 'fflate';

import { functionPackagePaths, packageFunction, repoPaths } from '../src/index';

import { readText, repoRoot } from './support/repo';

const dir = mkdtempSync(path.join(os.tmpdir(), 'outbox-fnpkg-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('publisher function app package', () => {
  it('is where the pipelines and the deploy tool expect it', () => {
    expect(functionPackagePaths.output).toBe(repoPaths.functionPackage);
    expect(readText('pipelines/azure-pipelines.yml')).toContain(functionPackagePaths.output);
    expect(readText('pipelines/github/dataverse-outbox.yml')).toContain(functionPackagePaths.output);
  });

  it('contains host.json, package.json and a bundled entry that loads without node_modules and registers the functions', async () => {
    const zipFile = path.join(dir, 'publisher-function.zip');
    const result = await packageFunction(repoRoot, zipFile);
    const files = unzipSync(readFileSync(zipFile));
    expect(Object.keys(files).sort()).toEqual(result.entries.slice().sort());
    const manifest = JSON.parse(Buffer.from(files['package.json'] as Uint8Array).toString('utf8')) as { main: string; dependencies?: unknown };
    expect(manifest.dependencies).toBeUndefined();
    expect(files[manifest.main]).toBeDefined();
    expect(Buffer.from(files['host.json'] as Uint8Array).toString('utf8')).toBe(readText('publisher-function/host.json'));

    // Unpack far from the repository so nothing can be resolved from its node_modules.
    const app = path.join(dir, 'app');
    for (const [name, data] of Object.entries(files)) {
      mkdirSync(path.dirname(path.join(app, name)), { recursive: true });
      writeFileSync(path.join(app, name), data);
    }
    const run = spawnSync(process.execPath, ['-e', `require(${JSON.stringify(path.join(app, manifest.main))}); console.log('loaded')`], {
      cwd: app,
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(run.stdout).toContain('loaded');
    // Outside the Functions host @azure/functions runs in test mode and names each registration it skips.
    const registered = [...`${run.stdout}${run.stderr}`.matchAll(/register function "(\w+)"/g)].map((m) => m[1]);
    expect(registered.length).toBeGreaterThanOrEqual(3);
  });
});

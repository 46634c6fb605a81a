/**
 * @jest-environment node
 */
// The shipped artefact: the production bundle (built by `npm run build`, which `npm test` runs first) stays small
// because React and Fluent UI come from the platform, and carries no development-only code.
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { platformGlobals } from '../host';

const outDir = path.resolve(__dirname, '..', 'out', 'controls', 'OutboxMonitor');
const bundlePath = path.join(outDir, 'bundle.js');
// Our own budget (Dataverse allows far larger web resources): 72 KiB since the row timeline (issue 21) added about 6 KB.
// Model-driven apps support Safari 13 and later, so pcf-scripts' Babel keeps an array-destructuring helper per module.
const maxBundleBytes = 72 * 1024;

function bundle(): string {
  if (!existsSync(bundlePath)) throw new Error(`${bundlePath} is missing: run npm run build -w pcf-outbox-monitor first`);
  return readFileSync(bundlePath, 'utf8');
}

it(`is under ${maxBundleBytes / 1024} KB`, () => {
  bundle();
  expect(statSync(bundlePath).size).toBeLessThan(maxBundleBytes);
});

it('takes React and Fluent UI from the platform instead of bundling them', () => {
  const code = bundle();
  expect(code).toContain(platformGlobals.react);
  expect(code).toContain(platformGlobals.fluent);
  // Markers of the libraries themselves: React's internals, Fluent's DetailsList implementation.
  expect(code).not.toContain('__SECRET_INTERNALS_DO_NOT_USE_OR_YOU_WILL_BE_FIRED');
  expect(code).not.toContain('DetailsListBase');
});

it('is a production build: minified, no eval, no source maps, registers Obx.OutboxMonitor', () => {
  const code = bundle();
  expect(code).not.toMatch(/\beval\(/);
  expect(code).not.toContain('sourceMappingURL');
  expect(code.split('\n').length).toBeLessThan(40);
  expect(code).toContain("registerControl('Obx.OutboxMonitor'");
});

it('ships the processed manifest with the platform libraries and WebAPI', () => {
  const manifest = readFileSync(path.join(outDir, 'ControlManifest.xml'), 'utf8');
  expect(manifest).toContain('<platform-library name="React" version="16.14.0"/>');
  expect(manifest).toContain('<platform-library name="Fluent" version="8.29.0"/>');
  expect(manifest).toContain('<uses-feature name="WebAPI" required="true"/>');
  expect(manifest).toContain('<code path="bundle.js" order="1"/>');
});

/**
 * @jest-environment node
 */
// The package's entry points: the main export is the control (the class the PCF runtime instantiates), the dev host is
// its own entry, and the built control's files resolve by package name. Node environment: the dev host bundles with
// esbuild, which jsdom's globals break.
import { existsSync } from 'node:fs';
import * as control from '@dataverse-outbox/pcf-outbox-monitor';
import * as host from '@dataverse-outbox/pcf-outbox-monitor/host';
import { OutboxMonitor } from '../OutboxMonitor/index';

it('exports the control as the main entry, and nothing of the dev host', () => {
  expect(control.OutboxMonitor).toBe(OutboxMonitor);
  const instance = new control.OutboxMonitor();
  for (const method of ['init', 'updateView', 'getOutputs', 'destroy'] as const) expect(typeof instance[method]).toBe('function');
  expect(Object.keys(control)).not.toContain('startMonitorHost');
});

it('exports the dev host on ./host', () => {
  expect(typeof host.startMonitorHost).toBe('function');
  expect(Object.keys(host)).not.toContain('OutboxMonitor');
});

it('resolves the built control files by package name', () => {
  for (const file of ['bundle.js', 'ControlManifest.xml']) {
    const resolved = require.resolve(`@dataverse-outbox/pcf-outbox-monitor/${file}`);
    expect(resolved).toMatch(new RegExp(`out[\\\\/]controls[\\\\/]OutboxMonitor[\\\\/]${file.replace('.', '\\.')}$`));
    expect(existsSync(resolved)).toBe(true);
  }
});
